// A supervised child starting: it becomes its program here (`ChildTrampoline`).
ChildTrampoline.execIfAsked()
// One call only: Swift 6 treats closures in top-level code as MainActor-isolated, and the
// supervisor runs outside any actor.
SupervisorCommand.start()

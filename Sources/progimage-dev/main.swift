// One call only: Swift 6 treats closures in top-level code as MainActor-isolated, and the
// supervisor runs outside any actor.
SupervisorCommand.start()

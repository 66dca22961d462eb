// One call only: Swift 6 treats closures in top-level code as MainActor-isolated, and the
// supervisor hands closures to C (nftw) and runs outside any actor.
SupervisorCommand.main()

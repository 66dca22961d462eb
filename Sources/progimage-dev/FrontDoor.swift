import ProgimageDeployment
import POSIX
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `progimage-dev run-front`: nginx alone, in the foreground, as the front door of the boxes
/// in `PROGIMAGE_FRONT_UPSTREAMS`, on `PROGIMAGE_PORT`, until SIGTERM or SIGINT.
enum FrontDoor {
    static func run(environment: ProcessEnvironment) -> Int32 {
        let logger = prepareForeground(label: "progimage-front")

        guard let config = environment.serviceConfiguration() else { return 2 }
        guard !config.frontUpstreams.isEmpty else {
            StandardStreams.error("PROGIMAGE_FRONT_UPSTREAMS must list the boxes (host:port,host:port)")
            return 2
        }
        // Its own address had sent every request round until nginx refused the headers as
        // too large (a black-box probe).
        if let looping = config.frontUpstreamLoopingTo(port: config.port) {
            StandardStreams.error("PROGIMAGE_FRONT_UPSTREAMS=\(looping): that is this front door's own address (PROGIMAGE_PORT)")
            return 2
        }
        var resources = StackResources()
        defer { resources.release() }
        do throws(SupervisorError) {
            let nginxBinary = try ExecutableLocator.nginx(environment: environment)
            guard !LoopbackProbe.isAccepting(port: config.port) else { throw .portInUse(config.port, variable: "PROGIMAGE_PORT") }
            let runDirectory = try resources.openRunDirectory(config.runDirectory)
            let nginx = NginxLauncher(executable: nginxBinary, runDirectory: runDirectory, environment: environment.with([:]))
            let text = NginxConfiguration.developmentFront(config, runDirectory: runDirectory, workerUser: DevelopmentStack.nginxWorkerUser)
            try systemCall { () throws(SystemCallError) in try Files.write(Array(text.utf8), to: nginx.configPath) }
            try nginx.testConfiguration()

            let port = config.port
            let banner = "progimage: front door on http://127.0.0.1:\(port) for \(config.frontUpstreams.joined(separator: ", "))"
            let supervisor = Supervisor(
                children: [.nginx(request: nginx.request)], logger: logger,
                readinessProbe: { LoopbackProbe.isAccepting(port: port) },
                onReady: { StandardStreams.writeLine(banner) }, makeWatch: MakeInterruptWatch())
            resources.supervisor = supervisor
            try supervisor.startAll()
            _ = try supervisor.superviseUntilStopped()
            return 0
        } catch {
            StandardStreams.error(error.description)
            return 1
        }
    }
}

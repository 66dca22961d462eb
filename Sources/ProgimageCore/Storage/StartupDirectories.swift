public import ProgimageAPI
import POSIX

/// Directory creation for process start-up (the data and cache roots).
public enum StartupDirectories {
    public static func make(_ paths: [String]) throws(ServiceError) {
        for path in paths {
            do {
                try Files.makeDirectories(path)
            } catch {
                throw ServiceError(.internalError, error.description)
            }
        }
    }
}

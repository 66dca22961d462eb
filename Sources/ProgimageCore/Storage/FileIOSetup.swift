public import ProgimageAPI

/// Directory creation for process start-up (the data and cache roots).
public enum FileIOSetup {
    public static func makeDirectories(_ paths: [String]) throws(ServiceError) {
        for path in paths {
            do {
                try FileIO.makeDirectories(path)
            } catch {
                throw ServiceError(.internalError, error.description)
            }
        }
    }
}

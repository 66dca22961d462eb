/// Turns the operation segments of a transform URL into an `OperationChain`.
///
/// Parsing ends before pixels: every argument is validated here, so an instance never
/// decodes an image for a request it would refuse.
public enum OperationParser {
    public static func parse(_ text: Substring, format: ImageFormat) throws(ServiceError) -> (chain: OperationChain, isCanonical: Bool) {
        var operations: [any ImageOperation] = []
        var quality: Int?
        var qualityWasLast = true
        let segments = text.split(separator: "/", omittingEmptySubsequences: false)
        for (index, segment) in segments.enumerated() {
            let colon = segment.firstIndex(of: ":")
            let name = colon.map { segment[..<$0] } ?? segment
            let arguments = colon.map { segment[segment.index(after: $0)...] }
            if name == "quality" {
                guard quality == nil else { throw ServiceError(.badOperation, "quality: given more than once") }
                guard let arguments, let value = ArgumentScanner.integer(arguments), (1...100).contains(value) else {
                    throw ServiceError(.badOperation, "quality: expected an integer from 1 to 100")
                }
                guard format.acceptsQuality else {
                    throw ServiceError(.badOperation, "quality: not an option of .\(format.rawValue) output")
                }
                quality = value
                qualityWasLast = index == segments.count - 1
                continue
            }
            guard let type = OperationCatalog.operation(named: name) else {
                throw ServiceError(.badOperation, "unknown operation '\(name.isEmpty ? segment : name)'")
            }
            operations.append(try type.init(arguments: arguments))
            guard operations.count <= OperationChain.maximumOperations else {
                throw ServiceError(.badOperation, "at most \(OperationChain.maximumOperations) operations")
            }
        }
        let chain = OperationChain(operations: operations, quality: quality, format: format)
        let printed = chain.canonicalPath
        let isCanonical = qualityWasLast && printed == "/" + text + ".\(format.rawValue)"
        return (chain, isCanonical)
    }
}

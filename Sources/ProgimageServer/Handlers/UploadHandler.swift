import ProgimageAPI
import ProgimageCore

/// `POST /images`: multipart (one or several `file` parts, all or nothing) or a raw
/// image body. Every part is validated before anything is stored; originals are written
/// durably before their rows, and removed again if the rows cannot be written.
struct UploadHandler {
    let context: ServiceContext

    private struct Candidate {
        let bytes: [UInt8]
        let filename: String?
    }

    func respond(to request: HTTPRequest) throws(ServiceError) -> HTTPResponse {
        try context.keys.authorizeWrite(authorization: request.headers["authorization"])
        let requestLimit = context.configuration.maxUploadBytes + 1_048_576
        guard request.contentLength <= requestLimit else {
            throw ServiceError(.payloadTooLarge, "the request body exceeds \(requestLimit) bytes")
        }
        let candidates = try candidates(in: request, limit: requestLimit)

        var prepared: [(candidate: Candidate, inspected: ImageIngest.Inspected)] = []
        for candidate in candidates {
            prepared.append((candidate, try context.ingest.inspect(candidate.bytes)))
        }

        var records: [ImageRecord] = []
        do {
            for (candidate, inspected) in prepared {
                let record = ImageRecord(
                    id: ImageID.random(), filename: candidate.filename, format: inspected.format,
                    width: inspected.size.width, height: inspected.size.height, bytes: candidate.bytes.count,
                    sha256: inspected.sha256, createdAt: Timestamp.now())
                try context.originals.write(candidate.bytes, id: record.id, format: record.format)
                records.append(record)
            }
            try context.metadata.insert(records)
        } catch {
            for record in records { try? context.originals.remove(id: record.id, format: record.format) }
            throw error
        }

        if records.count == 1 {
            return .json(201, records[0].json, headers: [("Location", "/images/\(records[0].id)")])
        }
        return .json(201, .object([("images", .array(records.map(\.json)))]))
    }

    private func candidates(in request: HTTPRequest, limit: Int) throws(ServiceError) -> [Candidate] {
        let contentType = request.headers["content-type"] ?? ""
        let body = request.body(limit: limit)
        if contentType.lowercased().hasPrefix("multipart/") {
            guard let boundary = MultipartParser.boundary(fromContentType: contentType) else {
                throw ServiceError(.badRequest, "multipart body without a boundary")
            }
            let parts = try MultipartParser.parse(body, boundary: boundary)
            let files = parts.filter { $0.name == "file" }
            if files.isEmpty {
                if parts.contains(where: { $0.name == "url" }) {
                    throw ServiceError(.forbiddenURL, "link ingest is not enabled on this server")
                }
                throw ServiceError(.emptyBody, "the multipart body has no part named file")
            }
            return files.map { Candidate(bytes: Array($0.body), filename: $0.filename.flatMap { $0.isEmpty ? nil : $0 }) }
        }
        if contentType.lowercased().hasPrefix("application/json") {
            throw ServiceError(.forbiddenURL, "link ingest is not enabled on this server")
        }
        let filename = request.headers["content-disposition"].flatMap(MultipartParser.dispositionFilename)
        return [Candidate(bytes: body, filename: filename.flatMap { $0.isEmpty ? nil : $0 })]
    }
}

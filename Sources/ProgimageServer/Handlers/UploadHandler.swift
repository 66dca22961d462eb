import ProgimageDeployment
import FoundationEssentials
import ProgimageAPI
import ProgimageCore
#if canImport(Glibc)
import Glibc
#endif

/// `POST /images`: multipart (one or several `file` or `url` parts, all or nothing), a raw
/// image body, or `{"url": …}` (link ingest). Every part is validated before anything is stored; originals are written
/// durably before their rows, and removed again if the rows cannot be written.
struct UploadHandler {
    let context: ServiceContext

    private struct Candidate {
        let bytes: [UInt8]
        let filename: String?
        var sourceURL: String? = nil
    }

    private struct LinkRequest: Decodable {
        let url: String
    }

    func respond(to request: HTTPRequest) throws(ServiceError) -> HTTPResponse {
        var requestLimit = context.configuration.maxRequestBytes
        var linkLimit: Int? = nil
        let kind = UploadBodyKind(contentType: request.headers["content-type"])
        if request.queryValue("sig") != nil {
            // A signed upload URL stands in for the API key (a browser never holds that).
            // Its `max_bytes` bounds what links bring in too, all of them together: without
            // that, `{"url": …}` stored 205 KB under a 1000-byte grant.
            // `max_bytes` counts image bytes, as the upload limit does: a raw body is its
            // image, a form's framing does not count (its file parts are summed below), and
            // a link's JSON is not the image it brings. A form upload of a file of exactly
            // `max_bytes` was a 413.
            let grant = try context.keys.verifyUploadGrant(query: request.query, now: Timestamp.unixSeconds())
            if let maxBytes = grant.maxBytes {
                let framing = kind == .raw ? 0 : ServiceConfiguration.framingBytes
                (requestLimit, linkLimit) = (min(requestLimit, maxBytes + framing), maxBytes)
            }
        } else {
            try context.keys.authorizeWrite(authorization: request.headers["authorization"])
        }
        guard request.contentLength <= requestLimit else {
            throw ServiceError(.payloadTooLarge, "the request body exceeds \(requestLimit) bytes")
        }
        var linkBudget = LinkBudget(left: linkLimit)
        let candidates = try candidates(in: request, kind: kind, limit: requestLimit, links: &linkBudget)

        var prepared: [(candidate: Candidate, inspected: ImageIngest.Inspected)] = []
        for candidate in candidates {
            prepared.append((candidate, try context.ingest.inspect(candidate.bytes)))
        }

        // Until the records are committed (or the originals removed again), the originals
        // on disk have none: `progimage-fcgi check` waits for this before judging them.
        let records = try context.originalsInFlight.during { () throws(ServiceError) -> [ImageRecord] in
            try store(prepared, sentAt: request.sentAt)
        }
        if records.count == 1 {
            return .json(201, records[0].json, headers: [("Location", "/images/\(records[0].id)")])
        }
        return .json(201, .object([("images", .array(records.map(\.json)))]))
    }

    /// Writes the originals, then their records in one transaction; on any failure, none
    /// is kept (`abandon`).
    private func store(
        _ prepared: [(candidate: Candidate, inspected: ImageIngest.Inspected)], sentAt: Double?
    ) throws(ServiceError) -> [ImageRecord] {
        // The megabyte deletes need on a full disk comes first: a delete that used it made
        // room, and an upload that took that room left the next delete without any.
        if let reserve = context.spaceReserve, !reserve.ensure() {
            throw ServiceError(.insufficientStorage, "no space left to store the image")
        }
        var records: [ImageRecord] = []
        for (candidate, inspected) in prepared {
            let record = ImageRecord(
                id: ImageID.random(), filename: candidate.filename, format: inspected.format,
                width: inspected.size.width, height: inspected.size.height, bytes: candidate.bytes.count,
                sha256: inspected.sha256, createdAt: "", sourceURL: candidate.sourceURL,
                blurhash: inspected.blurhash, hasAlpha: inspected.hasAlpha, frames: inspected.frames)
            do {
                try context.originals.write(candidate.bytes, id: record.id, format: record.format)
            } catch {
                abandon(records + [record])
                throw error
            }
            records.append(record)
        }
        // nginx answered the client `504` once its read timeout passed; stored now, the
        // images would exist though the client was told the upload failed (and a retry
        // stores them twice). Ten seconds' margin for the insert itself.
        if let sentAt, Self.secondsSinceEpoch() - sentAt > Double(NginxConfiguration.workerReadTimeoutSeconds - 10)
        {
            abandon(records)
            throw ServiceError(.timeout, "the upload took longer than nginx waits for its answer: nothing was stored")
        }
        do {
            // `created_at` is the store's to stamp (`MetadataStore.insert`).
            records = try context.metadata.insert(records)
            for record in records { context.originals.date(id: record.id, format: record.format, createdAt: record.createdAt) }
        } catch {
            // A commit the database did not answer may still have happened: then an original
            // goes only when its record is known to be absent (a lookup that fails keeps it;
            // `progimage-fcgi check` reports it if it was not committed after all), so an
            // original is never lost. Any other failure wrote no record.
            for record in records where !error.outcomeUnknown || isKnownAbsent(record.id) {
                try? context.originals.remove(id: record.id, format: record.format)
            }
            throw error
        }
        return records
    }

    private static func secondsSinceEpoch() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// The originals of an upload that could not store them all, none recorded. On disk
    /// they are removed at once. In a bucket the local copies are, and the objects (every
    /// part written, and the one whose write failed, which a store that hung may still
    /// complete when it resumes) are logged for the deletion fan-out, which removes them
    /// once the store answers: removing them here took the store's whole timeout for each
    /// while it hung (a 10-part upload answered its 503 after 40 s, not 5), and the object
    /// whose write had timed out stayed in the bucket for good. The log is written after
    /// the answer (`WorkAfterAnswers`): with the database hung too, its own bound had come
    /// on top of the store's. Should the log be out of reach, `progimage-fcgi check`
    /// reports what is left.
    private func abandon(_ records: [ImageRecord]) {
        guard let log = context.deletionLog, let bucket = context.bucketOriginals else {
            for record in records { try? context.originals.remove(id: record.id, format: record.format) }
            return
        }
        for record in records { bucket.removeLocalCopy(id: record.id, format: record.format) }
        let abandoned = records.map { (id: $0.id, format: $0.format) }
        context.workAfterAnswers.run { try? log.logAbandoned(abandoned) }
    }

    private func candidates(
        in request: HTTPRequest, kind: UploadBodyKind, limit: Int, links: inout LinkBudget
    ) throws(ServiceError) -> [Candidate] {
        let contentType = request.headers["content-type"] ?? ""
        let body = request.body(limit: limit)
        // The contract's `empty_body` whatever the body was announced as: a form or a JSON
        // link without a byte is as empty as a raw upload without one.
        guard !body.isEmpty else { throw ServiceError(.emptyBody, "the request has no body") }
        switch kind {
        case .form:
            guard let boundary = MultipartParser.boundary(fromContentType: contentType) else {
                throw ServiceError(.badRequest, "multipart body without a boundary")
            }
            // `file` and `url` parts, in request order; other fields are ignored.
            var candidates: [Candidate] = []
            let parts = try MultipartParser.parse(body, boundary: boundary)
            // A grant's bytes are shared: what the file parts hold leaves less for the links.
            if let left = links.left {
                links.left = left - parts.filter { $0.name == "file" }.reduce(0) { $0 + $1.body.count }
                if let left = links.left, left < 0 {
                    throw ServiceError(.payloadTooLarge, "the upload's files exceed the signed URL's max_bytes")
                }
            }
            for part in parts {
                switch part.name {
                case "file": candidates.append(Candidate(bytes: Array(part.body), filename: Self.cleanFilename(part.filename)))
                case "url": candidates.append(try fetch(String(decoding: part.body, as: UTF8.self), budget: &links))
                default: continue
                }
            }
            guard !candidates.isEmpty else { throw ServiceError(.emptyBody, "the multipart body has no file or url part") }
            return candidates
        case .link:
            guard let link = try? JSONDecoder().decode(LinkRequest.self, from: Data(body)) else {
                throw ServiceError(.badRequest, #"expected a JSON body {"url": "https://…"}"#)
            }
            return [try fetch(link.url, budget: &links)]
        case .raw:
            let filename = request.headers["content-disposition"].flatMap(MultipartParser.dispositionFilename)
            return [Candidate(bytes: body, filename: Self.cleanFilename(filename))]
        }
    }

    /// Whether the store answers that `id` has no record (not `try?`, which would take a
    /// failed lookup for an absent record).
    private func isKnownAbsent(_ id: ImageID) -> Bool {
        do {
            return try context.metadata.record(id) == nil
        } catch {
            return false
        }
    }

    /// What a signed upload URL's `max_bytes` leaves for links to bring in; nil: no grant
    /// limit (the upload limit alone).
    private struct LinkBudget {
        var left: Int?
    }

    /// Link ingest: the fetcher enforces the address policy, redirects, time and byte limits.
    private func fetch(_ url: String, budget: inout LinkBudget) throws(ServiceError) -> Candidate {
        let start = url.firstIndex { !$0.isWhitespace } ?? url.endIndex
        let end = url.lastIndex { !$0.isWhitespace }.map(url.index(after:)) ?? start
        if let left = budget.left, left < 0 {
            throw ServiceError(.payloadTooLarge, "the upload's parts exceed the signed URL's max_bytes")
        }
        let limit = budget.left
        let fetched = try context.linkFetches.whileHeld { () throws(ServiceError) in
            try context.linkFetcher.fetch(String(url[start..<max(start, end)]), limit: limit)
        }
        if let left = budget.left { budget.left = left - fetched.bytes.count }
        return Candidate(bytes: fetched.bytes, filename: Self.cleanFilename(fetched.filename), sourceURL: fetched.finalURL)
    }

    /// The last path component, without control characters (C0, DEL and C1: U+009B is a
    /// terminal's CSI), at most `filenameScalars` code points: a filename is metadata for
    /// people, never a path on our disk, but clients display it. Counted in characters, one
    /// `a` with ten million combining accents had been a 20 MB filename, stored and sent in
    /// every list (a black-box tester); a name cut short ends on a whole character.
    static func cleanFilename(_ name: String?) -> String? {
        guard let name else { return nil }
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var scalars = String.UnicodeScalarView()
        var beyond: Unicode.Scalar?
        for scalar in last.unicodeScalars where scalar.properties.generalCategory != .control {
            guard scalars.count < filenameScalars else {
                beyond = scalar
                break
            }
            scalars.append(scalar)
        }
        var clean = String(scalars)
        // The last character goes when it goes on past the cut (the first scalar left out
        // joins it: a combining accent), unless it is all there is; a cut between whole
        // characters keeps all 255 (it had always dropped one more: a black-box tester).
        if let beyond, clean.count > 1 {
            var joined = scalars
            joined.append(beyond)
            if String(joined).count == clean.count { clean.removeLast() }
        }
        return clean.isEmpty ? nil : clean
    }

    static let filenameScalars = 255
}

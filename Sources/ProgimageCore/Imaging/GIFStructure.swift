import ProgimageAPI

/// Walks a GIF's block structure to its end. libgd decodes only the first frame, so a
/// file cut short in a later frame would otherwise be stored as if it were whole.
/// A missing trailer after a complete last block is tolerated, as browsers do.
enum GIFStructure {
    static func validate(_ bytes: [UInt8]) throws(ServiceError) {
        let truncated = ServiceError(.corruptImage, "the gif image is truncated")
        var at = 13
        guard bytes.count >= at else { throw truncated }
        func skipColorTable(flags: UInt8) {
            if flags & 0x80 != 0 { at += 3 << (Int(flags & 7) + 1) }
        }
        func skipSubBlocks() throws(ServiceError) {
            while true {
                guard at < bytes.count else { throw truncated }
                let length = Int(bytes[at])
                at += 1 + length
                if length == 0 { return }
            }
        }
        skipColorTable(flags: bytes[10])
        while at < bytes.count {
            switch bytes[at] {
            case 0x3B:
                return
            case 0x21:
                at += 2
                try skipSubBlocks()
            case 0x2C:
                guard at + 10 <= bytes.count else { throw truncated }
                skipColorTable(flags: bytes[at + 9])
                at += 10 + 1
                try skipSubBlocks()
            default:
                throw ServiceError(.corruptImage, "the gif image has an unknown block")
            }
        }
        guard at == bytes.count else { throw truncated }
    }
}

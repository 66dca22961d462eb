/// A JPEG XL that libjxl could not take whole, or could not write.
public enum JXLError: Error, Equatable, Sendable {
    /// The codestream or container stopped before the first frame was complete.
    case incomplete
    /// libjxl reported an error while decoding.
    case corrupt
    /// More pixels than the caller allows, from the header alone.
    case tooLarge
    /// The encoder refused the pixels or its settings.
    case encodeFailed
}

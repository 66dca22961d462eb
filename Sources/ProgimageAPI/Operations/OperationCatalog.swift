/// Every pixel operation the service knows. Adding one is a new type, its case in
/// `OperationKind` (which the compiler then requires a pixel step for) and one line here:
/// the URL parser, the instance roles, nginx's routing map and the development
/// supervisor are all derived from this list.
public enum OperationCatalog {
    public static let all: [any ImageOperation.Type] = [
        ResizeOperation.self,
        CropOperation.self,
        RotateOperation.self,
        FlipOperation.self,
        GrayscaleOperation.self,
        BlurOperation.self,
        SharpenOperation.self,
        PadOperation.self,
        OverlayOperation.self,
    ]

    static func operation(named name: Substring) -> (any ImageOperation.Type)? {
        all.first { $0.name == name }
    }
}

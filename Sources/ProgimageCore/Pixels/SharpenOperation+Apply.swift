public import ProgimageAPI
package import GD

extension SharpenOperation: PixelStep {
    /// `amount` 1–100 maps to an unsharp-mask strength of amount/20: 20 is the classic
    /// 100% unsharp mask, 100 a strong 5×.
    package func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        do {
            return try image.sharpened(amount: amount / 20)
        } catch {
            throw error.serviceError
        }
    }
}

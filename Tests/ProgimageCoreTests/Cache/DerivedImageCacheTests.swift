import POSIX
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// Derived files where nginx serves them, and their removal when an image goes.
@Suite struct DerivedImageCacheTests {
    /// A render's file that landed in its image's folder after the delete had moved the
    /// folder to the trash and listed it: the render's own `removeAll` (it finds the record
    /// gone) removes it, though the image's folder is no longer where it was; another
    /// image's trashed folder, whose id starts the same, stays.
    @Test func removeAllSweepsWhatLandedInTheTrashedFolder() throws {
        let root = try Files.makeTemporaryDirectory(template: "/tmp/progimage-cache-XXXXXX")
        defer { Files.removeTree(root) }
        let store = DerivedImageCache(root: root)
        let id = try #require(ImageID("abcdefghijklmnop"))
        let longer = try #require(ImageID("abcdefghijklmnop-Zz0yY1xX2wW3vV4u"))
        let landed = "\(root)/.trash/\(id)-Zz0yY1xX2wW3vV4u"
        let unrelated = "\(root)/.trash/\(longer)-Aa0bB1cC2dD3eE4f"
        for folder in [landed, unrelated] {
            try Files.makeDirectories(folder)
            try Files.write(Array("late".utf8), to: folder + "/sharpen:1.jpg")
        }
        store.removeAll(of: id)
        #expect(Files.entries(in: root + "/.trash")?.map(\.name) == ["\(longer)-Aa0bB1cC2dD3eE4f"])
    }
}

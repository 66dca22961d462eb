#if canImport(Glibc)
import Glibc
#endif

/// Test setup only: the service never makes links.
func symlinkForTest(_ target: String, _ link: String) -> Int32 { symlink(target, link) }

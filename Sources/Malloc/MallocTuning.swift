internal import CMalloc

/// glibc malloc's process-wide options.
public enum MallocTuning {
    /// `mallopt(M_PERTURB, byte)`: memory malloc hands out (not calloc's) is filled with
    /// `~byte`, and freed memory with `byte`. Returns false where glibc refuses.
    @discardableResult
    public static func perturb(with byte: UInt8) -> Bool {
        cmalloc_set_perturb(Int32(byte)) == 1
    }
}

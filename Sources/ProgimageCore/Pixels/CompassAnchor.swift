/// Where a window of spare room `spareX` × `spareY` sits for a compass gravity (`n`, `ne`,
/// … `nw`, `c`): shared by `resize:…,fill,{g}` and `overlay:{id},{g}`, whose gravities are
/// spelled alike. Unknown names (and `c`) centre.
enum CompassAnchor {
    static func origin(_ name: String, spareX: Int, spareY: Int) -> (x: Int, y: Int) {
        let x = name.hasSuffix("w") ? 0 : name.hasSuffix("e") ? spareX : spareX / 2
        let y = name.hasPrefix("n") ? 0 : name.hasPrefix("s") ? spareY : spareY / 2
        return (x, y)
    }
}

import Synchronization

/// What was made from each distinct source profile, kept for the life of the process:
/// a profile seen twice is parsed once. nil entries remember profiles that failed, so a bad
/// one is not parsed on every request. Past `capacity` distinct keys the table starts over
/// (a service sees a handful).
final class ParsedProfileCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let table = Mutex<[Key: Value?]>([:])
    private let capacity: Int

    init(capacity: Int = 64) {
        self.capacity = capacity
    }

    func value(for key: Key, making make: () -> Value?) -> Value? {
        if let hit = table.withLock({ $0[key] }) { return hit }
        let made = make()
        table.withLock { table in
            if table.count >= capacity { table.removeAll() }
            table[key] = .some(made)
        }
        return made
    }
}

/// A first-in, first-out queue over an array: `popFirst()` advances a head index instead of
/// shifting the array, and the consumed front is dropped in one go once it is at least half of the
/// storage (or all of it).
///
/// Inlinable, like ``HandOffState``, so that each use is specialized for its element.
@usableFromInline package struct FIFO<Element> {
    @usableFromInline var storage: [Element] = []
    @usableFromInline var head = 0

    /// An empty queue.
    @inlinable package init() {}

    @inlinable package var isEmpty: Bool { head == storage.count }

    /// The number of elements queued.
    @inlinable package var count: Int { storage.count - head }

    @inlinable package mutating func append(_ element: Element) {
        storage.append(element)
    }

    @inlinable package mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.count <= 64)
            head = 0
        } else if head >= 64 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }
}

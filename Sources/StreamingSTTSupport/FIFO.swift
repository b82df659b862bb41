/// A first-in, first-out queue over an array: `popFirst()` advances a head index instead of
/// shifting the array, and the consumed front is dropped in one go once it is at least half of the
/// storage (or all of it).
package struct FIFO<Element> {
    private var storage: [Element] = []
    private var head = 0

    /// An empty queue.
    package init() {}

    package var isEmpty: Bool { head == storage.count }

    /// The number of elements queued.
    package var count: Int { storage.count - head }

    package mutating func append(_ element: Element) {
        storage.append(element)
    }

    package mutating func popFirst() -> Element? {
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

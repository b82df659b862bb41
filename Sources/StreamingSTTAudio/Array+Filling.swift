extension Array {
    /// `Array(unsafeUninitializedCapacity:initializingWith:)` that returns a plain empty array for
    /// a count of zero. The standard library's initializer writes the count into the shared
    /// empty-array storage even then; harmless, but ThreadSanitizer reports it as a race between
    /// any two threads that make empty arrays, which would hide real reports.
    package init(
        filling count: Int, _ body: (inout UnsafeMutableBufferPointer<Element>, inout Int) throws -> Void
    ) rethrows {
        guard count > 0 else {
            self = []
            return
        }
        try self.init(unsafeUninitializedCapacity: count, initializingWith: body)
    }
}

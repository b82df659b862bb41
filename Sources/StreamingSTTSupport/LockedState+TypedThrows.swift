extension LockedState {
    /// ``withLock(_:)`` for a body with a typed error (the base method is `rethrows`, which
    /// erases the type).
    package func withLockTyped<Result, Failure: Error>(
        _ body: (inout State) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withLock { state in Swift.Result { () throws(Failure) in try body(&state) } }.get()
    }
}

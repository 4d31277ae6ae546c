/// Resource limits applied while reading a safetensors file.
public struct SafeTensorsLimits: Sendable, Equatable {
    /// Largest accepted JSON header, in bytes. The reference implementation uses 100 MB.
    public var maxHeaderBytes: Int

    public init(maxHeaderBytes: Int = 100_000_000) {
        self.maxHeaderBytes = maxHeaderBytes
    }
}

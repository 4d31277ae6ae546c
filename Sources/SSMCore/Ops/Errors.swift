/// Errors from ops whose inputs come from data (labels, token indices) rather than from code.
public enum OpError: Error, Equatable, CustomStringConvertible {
    /// An integer index (class label, embedding token) outside `0..<limit`.
    case indexOutOfRange(op: String, index: Int, position: Int, limit: Int)
    /// The number of indices does not match the tensor it goes with.
    case countMismatch(op: String, expected: Int, found: Int)

    public var description: String {
        switch self {
        case let .indexOutOfRange(op, index, position, limit):
            return "\(op): index \(index) at position \(position) is outside 0..<\(limit)"
        case let .countMismatch(op, expected, found):
            return "\(op): expected \(expected) indices, found \(found)"
        }
    }
}

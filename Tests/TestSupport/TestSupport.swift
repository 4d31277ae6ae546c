import Foundation
import SSMCore
/// Shared helpers for the test targets.
public enum TestSupport {}

import ArgumentParser
import MediaIO
import SSMCore

struct SSM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssm",
        abstract: "State-space models on real signals.")
}
SSM.main()

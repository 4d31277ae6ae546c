import ArgumentParser
import Foundation
import MediaIO

/// The `ssm` command: one subcommand per file in Commands/.
struct SSM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssm",
        abstract: "State-space models on real signals.",
        version: SSMVersion.current,
        subcommands: [
            Info.self,
            Inspect.self,
            Dataset.self,
            TrainClassifier.self,
            Evaluate.self,
            Classify.self,
            Batch.self,
            TrainSashimi.self,
            Generate.self,
            Score.self,
            CheckRecurrence.self,
            SpectrogramCommand.self,
            TrainAudioClassifier.self,
            AudioMetrics.self,
        ])
}

/// The tool's version (`ssm --version`).
enum SSMVersion {
    static let current = "0.5.0 (video classification, ssm batch; kernel registry: s4d, dplr, dss, dlr, ema, sgconv, conv; blocks: s4, s5, mamba, gss)"
}

// Arguments are read as bytes, so file names that are not UTF-8 reach the commands intact.
let arguments = (1..<Int(CommandLine.argc)).map { i -> String in
    guard let p = CommandLine.unsafeArgv[i] else { return "" }
    return SystemPath.string(bytes: UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p)))
}
SSM.main(arguments)

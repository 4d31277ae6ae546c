import ArgumentParser

/// The `ssm` command: one subcommand per file in Commands/.
struct SSM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssm",
        abstract: "State-space models on real signals.",
        subcommands: [
            Info.self,
            Inspect.self,
            Dataset.self,
            TrainClassifier.self,
            Evaluate.self,
            Classify.self,
            TrainSashimi.self,
            Generate.self,
            Score.self,
            CheckRecurrence.self,
            SpectrogramCommand.self,
            TrainAudioClassifier.self,
            AudioMetrics.self,
        ])
}

SSM.main()

import ArgumentParser

/// The `phoenix` command: each subcommand parses its flags into a library value and calls one function.
@main
struct Phoenix: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phoenix",
        abstract: "Run and study large language models from GGUF files on the CPU.",
        subcommands: [
            BenchCommand.self,
            ChatCommand.self,
            GenerateCommand.self,
            InspectCommand.self,
            LoadTestCommand.self,
            PerplexityCommand.self,
            PlanCommand.self,
            ServeCommand.self,
            TokenizeCommand.self,
        ])
}

import ArgumentParser
import LifeboatCore

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a repository.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let (repository, config) = try Repository.create(at: try global.repositoryPath())
        if global.json {
            try Console.json(["repository": repository.root, "id": config.id, "created": config.created])
        } else if !global.quiet {
            print("created repository \(config.id) at \(repository.root)")
        }
    }
}

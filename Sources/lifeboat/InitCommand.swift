import ArgumentParser
import LifeboatCore

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a repository.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let repository = try Repository.create(at: try global.repositoryPath(), settings: global.storageSettings())
        let config = repository.config
        if global.json {
            try Console.json(["repository": repository.location, "id": config.id, "created": config.created])
        } else if !global.quiet {
            print("created repository \(config.id) at \(repository.location)")
        }
    }
}

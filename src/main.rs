fn main() -> std::process::ExitCode {
    deploybot::cli::main()
}

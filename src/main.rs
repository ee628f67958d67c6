fn main() {
    std::process::exit(planai_lsp::cli::main());
}

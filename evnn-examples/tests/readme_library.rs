//! The README's "Training from Rust" code is the quick start of `evnn-net`'s
//! documentation, which `cargo test` compiles and runs as a doc test, and the
//! body of the `library_training` example (the full run): the copies must
//! not drift apart.

use std::path::Path;

/// The lines of the first ```rust block after `heading` in `text`.
fn rust_block_after(text: &str, heading: &str) -> Vec<String> {
    let start = text.find(heading).expect("the heading is in the README");
    let rest = &text[start..];
    let open = rest.find("```rust\n").expect("a rust block follows") + "```rust\n".len();
    let close = rest[open..].find("```").expect("the block ends");
    rest[open..open + close]
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn readme_training_code_is_the_doc_tested_quick_start() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lib = std::fs::read_to_string(root.join("evnn-net/src/lib.rs")).unwrap();
    let block = rust_block_after(&readme, "## Training from Rust");
    assert!(block.len() >= 10, "{block:?}");
    // The doc test's visible lines (`//! ` stripped, hidden `# ` lines out).
    let doc: Vec<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//! ").or(l.strip_prefix("//!")))
        .filter(|l| !l.starts_with("# ") && *l != "#")
        .map(str::to_string)
        .collect();
    let at = doc
        .iter()
        .position(|l| *l == block[0])
        .unwrap_or_else(|| panic!("`{}` is not in evnn-net's docs", block[0]));
    assert_eq!(
        &doc[at..at + block.len()],
        &block[..],
        "README and evnn-net/src/lib.rs differ"
    );
    // The example's lines, unindented.
    let example =
        std::fs::read_to_string(root.join("evnn-examples/examples/library_training.rs")).unwrap();
    let lines: Vec<String> = example
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l).to_string())
        .collect();
    let at = lines
        .iter()
        .position(|l| *l == block[0])
        .expect("the example holds the README's code");
    assert_eq!(
        &lines[at..at + block.len()],
        &block[..],
        "README and the library_training example differ"
    );
}

//! evnn-net's files import one way: each module uses only modules before it
//! in [`ORDER`], so the crate reads from the data up to the batch runner and
//! the trainer's objective without cycles. Doc links and imports made only
//! for the docs (`#[cfg(doc)]`) do not count.

use std::collections::BTreeMap;
use std::path::Path;

/// The modules, each allowed to use only those before it.
const ORDER: &[&str] = &[
    "error",
    "spikes",
    "params",
    "loss",
    "readout",
    "trace",
    "stack",
    "on_demand",
    "recurrent",
    "layer_wide",
    "forward",
    "backward",
    "sample",
    "network",
    "gradcheck",
    "batch",
    "objective",
];

/// The module of every name `lib.rs` re-exports (`pub use module::{..}`).
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let flat = lib.replace('\n', " ");
    for stmt in flat.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        for item in items
            .trim_matches(|c| c == '{' || c == '}' || c == ' ')
            .split(',')
        {
            let item = item.trim();
            if !item.is_empty() {
                names.insert(item.to_string(), module.trim().to_string());
            }
        }
    }
    names
}

/// The modules that `source` uses through `crate::` paths, outside comments
/// and `#[cfg(doc)]` imports.
fn uses(source: &str, names: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip_next = false;
    let mut code = String::new();
    for line in source.lines() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        if t.starts_with("#[cfg(doc)]") {
            skip_next = true;
            continue;
        }
        if skip_next {
            skip_next = false;
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if ORDER.contains(&word.as_str()) {
            out.push(word);
        } else if let Some(m) = names.get(&word) {
            out.push(m.clone());
        } else if word.is_empty() && rest.starts_with('{') {
            let close = rest.find('}').unwrap_or(rest.len());
            for item in rest[1..close].split(',') {
                let item = item.split_whitespace().next().unwrap_or("");
                if let Some(m) = names.get(item) {
                    out.push(m.clone());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn modules_import_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let names = reexports(&lib);
    assert!(names.len() > 20, "{names:?}");
    let mut graph = Vec::new();
    for (rank, module) in ORDER.iter().enumerate() {
        let source = std::fs::read_to_string(src.join(format!("{module}.rs")))
            .unwrap_or_else(|e| panic!("{module}.rs: {e}"));
        let used = uses(&source, &names);
        for u in &used {
            let at = ORDER.iter().position(|m| m == u).unwrap();
            assert!(
                at < rank || u == module,
                "{module}.rs uses {u}.rs, which comes after it"
            );
        }
        graph.push(format!(
            "{module} -> {}",
            used.iter()
                .filter(|u| *u != module)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // Every source file is in the order.
    for entry in std::fs::read_dir(&src).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name.trim_end_matches(".rs");
        assert!(
            stem == "lib" || ORDER.contains(&stem),
            "{name} is not in ORDER"
        );
    }
    println!("{}", graph.join("\n"));
}

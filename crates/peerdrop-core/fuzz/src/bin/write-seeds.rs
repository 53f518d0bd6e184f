//! Writes each fuzz target's seeds into `corpus/<target>/` (made by `make test` and `make fuzz`).

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| "corpus".into());
    for (target, name, bytes) in peerdrop_core_fuzz::seeds() {
        let dir = std::path::Path::new(&root).join(target);
        std::fs::create_dir_all(&dir).expect("corpus folder");
        std::fs::write(dir.join(name), bytes).expect("seed file");
    }
}

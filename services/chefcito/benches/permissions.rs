//! The permission check runs on every gateway request. `open_to_all` answers "does the caller
//! matter here?" with one table lookup; asking `allows` once per user type costs three.
//!
//! Run with `cargo bench -p chefcito --bench permissions`.

use chefcito::permissions::{Permissions, Table, UserType};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../db_config.yaml"))
            .unwrap();
    let table = Table::new(&Permissions::from_yaml(&text).unwrap());
    let mut group = c.benchmark_group("open_to_all");
    for path in ["/users", "/stats/venue/abc123"] {
        group.bench_function(format!("per_type{path}"), |b| {
            b.iter(|| {
                UserType::ALL
                    .into_iter()
                    .all(|t| table.allows(black_box(path), t))
            })
        });
        group.bench_function(format!("one_lookup{path}"), |b| {
            b.iter(|| table.open_to_all(black_box(path)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

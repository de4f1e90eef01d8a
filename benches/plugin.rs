//! Start-up costs of a builder component: cold compile, warm (cached)
//! load, and instantiate + `describe` from the pre-instantiated component.
//! Run with `cargo bench --bench plugin`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln::caps::Caps;
use kiln::caps::cancel::RunCancel;
use kiln::caps::comm;
use kiln::caps::secrets::Redactor;
use kiln::plugin::instance::GuestConfig;
use kiln::plugin::{Cache, Instance, Runtime, load_file};
use kiln::ui::{Ui, UiOptions};
use std::path::Path;

fn caps(ui: &Ui) -> Caps {
    Caps::isolated("bench", ui.for_build(0, "bench"), ui.redactor().clone(), RunCancel::default().for_build())
}

fn plugin_startup(c: &mut Criterion) {
    let bytes = std::fs::read(kiln::guests::NULL_BUILDER).expect("the null builder is built by build.rs");
    let cold = Runtime::new(Cache::new(None)).unwrap();
    c.bench_function("compile null builder (cold, no cache)", |b| {
        b.iter(|| cold.cache.load(&cold.engine, &bytes).unwrap());
    });
    let dir = tempfile::tempdir().unwrap();
    let warm = Runtime::new(Cache::new(Some(dir.path().to_path_buf()))).unwrap();
    warm.cache.load(&warm.engine, &bytes).unwrap();
    c.bench_function("load null builder (warm cache)", |b| {
        b.iter(|| warm.cache.load(&warm.engine, &bytes).unwrap());
    });
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let ui = Ui::new(UiOptions { machine_readable: true, ..Default::default() }, Redactor::default());
    let plugin = tokio.block_on(load_file(&warm, Path::new(kiln::guests::NULL_BUILDER), caps(&ui))).unwrap();
    c.bench_function("instantiate + describe (from InstancePre)", |b| {
        b.to_async(&tokio).iter(|| async {
            let mut instance = Instance::new(&plugin, caps(&ui)).await.unwrap();
            instance.describe().await.unwrap()
        });
    });
}

/// Calls a guest makes to a trivial import (`timer.cancelled`) in one run.
const CALLS: u64 = 100_000;

fn host_call_round_trip(c: &mut Criterion) {
    let runtime = Runtime::new(Cache::new(None)).unwrap();
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let ui = Ui::new(UiOptions { machine_readable: true, ..Default::default() }, Redactor::default());
    let path = Path::new(kiln::guests::TEST_SCENARIOS);
    let plugin = tokio.block_on(load_file(&runtime, path, caps(&ui))).unwrap();
    let config = GuestConfig {
        builder_type: "test-scenarios".into(),
        build_name: "bench".into(),
        json: format!(r#"{{"scenario":"calls","count":{CALLS}}}"#),
        secrets: Vec::new(),
        communicator: comm::Config::None(comm::SshConfig::default()),
        communicator_chosen: true,
        keep_on_error: false,
        force: false,
    };
    let mut group = c.benchmark_group("host call");
    group.throughput(Throughput::Elements(CALLS));
    group.bench_function("timer.cancelled round trip", |b| {
        b.to_async(&tokio).iter(|| async {
            let mut instance = Instance::new(&plugin, caps(&ui)).await.unwrap();
            instance.run(&config).await.unwrap().unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, plugin_startup, host_call_round_trip);
criterion_main!(benches);

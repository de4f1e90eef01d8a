//! The simulator's admin API under `/__kiln/`, as `kiln sim serve` serves
//! it: an index of its routes, each of which answers; and the defaults its
//! help tells of.

use crate::support::Project;
use crate::support::admin::get;
use crate::support::sim::SimServer;

crate::support::tests! {
    the_admin_index_lists_every_route_with_a_description,
    sim_serve_help_tells_the_simulators_defaults,
}

fn the_admin_index_lists_every_route_with_a_description() {
    let sim = SimServer::start();
    let index = get(&sim.address, "/__kiln/");
    let routes = index.as_array().unwrap_or_else(|| panic!("not a list: {index}"));
    let listed: Vec<String> =
        routes.iter().map(|r| format!("{} {}", r["method"].as_str().unwrap(), r["path"].as_str().unwrap())).collect();
    for expected in [
        "GET /__kiln/",
        "GET /__kiln/health",
        "GET /__kiln/resources",
        "GET /__kiln/requests",
        "GET /__kiln/counts",
        "GET /__kiln/faults",
        "POST /__kiln/faults",
        "DELETE /__kiln/faults",
        "POST /__kiln/reset",
        "GET /__kiln/ssh",
    ] {
        assert!(listed.iter().any(|l| l == expected), "{expected} not in {listed:?}");
    }
    for route in routes {
        let description = route["description"].as_str().unwrap_or_default();
        assert!(!description.is_empty() && !description.contains('\n'), "{route}");
        // Every GET route it lists answers with JSON.
        if route["method"] == "GET" {
            get(&sim.address, route["path"].as_str().unwrap());
        }
    }
    let unknown = get(&sim.address, "/__kiln/nope");
    assert!(unknown["error"].as_str().unwrap_or_default().contains("GET /__kiln/ lists them"), "{unknown}");
}

fn sim_serve_help_tells_the_simulators_defaults() {
    let p = Project::new();
    p.run(&["sim", "serve", "--help"])
        .code(0)
        .contains("127.0.0.1:8700")
        .contains(kiln_sim::alicloud::credentials::DEFAULT_ACCESS_KEY_ID)
        .contains("127.1.0.0/16")
        .contains("regions cn-beijing, cn-hangzhou")
        .contains("profile:       fast")
        .contains("on port 22 of each machine's own address")
        .contains("GET /__kiln/ lists the routes");
}

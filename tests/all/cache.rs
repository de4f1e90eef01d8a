//! The compiled-component cache holds native code, so kiln checks what it
//! loads from it: a corrupt, truncated or foreign file is compiled again
//! with one warning, and a cache directory others can write is not used.

use crate::support::{Project, Run};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

crate::support::tests! {
    a_flipped_byte_in_a_cached_component_is_recompiled_with_one_warning,
    another_components_cached_file_under_this_name_is_recompiled,
    a_truncated_cached_component_is_recompiled,
    a_symlink_in_place_of_a_cached_component_is_replaced,
    a_group_writable_cache_dir_is_not_used,
    the_cache_dir_is_created_private,
    a_cache_dir_owned_by_another_user_is_not_used needs [Root],
    two_kilns_filling_one_empty_cache_at_once_leave_valid_files_without_a_warning,
}

/// A project whose cache is its own (not the suite's shared one).
struct CachedProject {
    project: Project,
    cache: PathBuf,
}

impl CachedProject {
    fn new() -> Self {
        let project = Project::new();
        let cache = project.root().join("cache");
        CachedProject { project, cache }
    }

    /// `kiln plugins inspect COMPONENT`: loads that one component.
    fn inspect(&self, component: &str) -> Run {
        let run = self
            .project
            .run_with_env(&["plugins", "inspect", component], &[("KILN_CACHE_DIR", self.cache.to_str().unwrap())]);
        run.code(0);
        run
    }

    /// The cached files, sorted.
    fn files(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.cache.join("components")) else { return Vec::new() };
        let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        files
    }

    /// Runs `inspect` to fill the cache, and returns the one file it wrote.
    fn cached(&self, component: &str) -> PathBuf {
        let before = self.files();
        self.inspect(component).lacks("Warning");
        let new: Vec<PathBuf> = self.files().into_iter().filter(|f| !before.contains(f)).collect();
        assert_eq!(new.len(), 1, "one new cached file expected, got {new:?}");
        new[0].clone()
    }
}

/// Asserts `run` warned exactly once on stderr, naming `path` and saying `what`.
fn warned_once(run: &Run, path: &Path, what: &str) {
    assert_eq!(run.stderr.matches("Warning:").count(), 1, "one warning expected:\n{}", run.all());
    run.contains(&format!("Warning: discarded the cached compiled component {}: {what}", path.display()))
        .contains("compiled it again and rewrote the file");
}

fn a_flipped_byte_in_a_cached_component_is_recompiled_with_one_warning() {
    let p = CachedProject::new();
    let file = p.cached(kiln::guests::NULL_BUILDER);
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();

    let run = p.inspect(kiln::guests::NULL_BUILDER);
    run.contains("Builder types:    null");
    warned_once(&run, &file, "its contents do not match the SHA-256 digest kiln recorded");
    let rewritten = std::fs::read(&file).unwrap();
    assert_ne!(rewritten, bytes, "the corrupt file was not rewritten");

    p.inspect(kiln::guests::NULL_BUILDER).lacks("Warning").contains("Builder types:    null");
    assert_eq!(std::fs::read(&file).unwrap(), rewritten, "a good file was rewritten");
}

fn another_components_cached_file_under_this_name_is_recompiled() {
    let p = CachedProject::new();
    let null = p.cached(kiln::guests::NULL_BUILDER);
    let scenarios = p.cached(kiln::guests::TEST_SCENARIOS);
    std::fs::copy(&scenarios, &null).unwrap();

    let run = p.inspect(kiln::guests::NULL_BUILDER);
    run.contains("Builder types:    null").lacks("test-scenarios");
    warned_once(&run, &null, "it holds the compiled form of another component");
    p.inspect(kiln::guests::NULL_BUILDER).lacks("Warning");
    p.inspect(kiln::guests::TEST_SCENARIOS).lacks("Warning").contains("Builder types:    test-scenarios");
}

fn a_truncated_cached_component_is_recompiled() {
    let p = CachedProject::new();
    let file = p.cached(kiln::guests::NULL_BUILDER);
    let length = std::fs::metadata(&file).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(length / 2).unwrap();

    let run = p.inspect(kiln::guests::NULL_BUILDER);
    run.contains("Builder types:    null");
    warned_once(&run, &file, &format!("it is truncated ({} bytes, where kiln wrote {length})", length / 2));
    assert_eq!(std::fs::metadata(&file).unwrap().len(), length);
    p.inspect(kiln::guests::NULL_BUILDER).lacks("Warning");
}

fn a_symlink_in_place_of_a_cached_component_is_replaced() {
    let p = CachedProject::new();
    let file = p.cached(kiln::guests::NULL_BUILDER);
    // Even a link to a good copy: kiln writes no links, so it did not make
    // this one, and what it points to could change after the check.
    let elsewhere = p.project.root().join("elsewhere.cwasm");
    std::fs::rename(&file, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &file).unwrap();

    let run = p.inspect(kiln::guests::NULL_BUILDER);
    warned_once(&run, &file, "it is a symbolic link");
    assert!(std::fs::symlink_metadata(&file).unwrap().is_file(), "the link was not replaced by a file");
    p.inspect(kiln::guests::NULL_BUILDER).lacks("Warning");
}

fn a_group_writable_cache_dir_is_not_used() {
    let p = CachedProject::new();
    std::fs::create_dir(&p.cache).unwrap();
    std::fs::set_permissions(&p.cache, std::fs::Permissions::from_mode(0o770)).unwrap();

    let run = p.inspect(kiln::guests::NULL_BUILDER);
    run.contains("Builder types:    null")
        .contains(&format!(
            "Warning: not using the component cache {}: it is writable by its group or by others (mode 0770), and",
            p.cache.display()
        ))
        .contains(&format!("run `chmod 700 {}`, or set KILN_CACHE_DIR", p.cache.display()))
        .contains("Compiling in memory");
    assert_eq!(run.stderr.matches("Warning:").count(), 1, "one warning expected:\n{}", run.all());
    assert_eq!(std::fs::read_dir(&p.cache).unwrap().count(), 0, "kiln wrote into a directory it does not trust");

    std::fs::set_permissions(&p.cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    p.cached(kiln::guests::NULL_BUILDER);
}

fn the_cache_dir_is_created_private() {
    let p = CachedProject::new();
    let p = CachedProject { cache: p.project.root().join("deep/er/cache"), ..p };
    p.cached(kiln::guests::NULL_BUILDER);
    for dir in ["deep", "deep/er", "deep/er/cache", "deep/er/cache/components"] {
        let mode = std::fs::metadata(p.project.root().join(dir)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{dir} has mode {mode:o}");
    }
}

fn a_cache_dir_owned_by_another_user_is_not_used() {
    // As root (the test needs it): root may write anywhere, so only the
    // owner check keeps kiln out of this directory.
    let p = CachedProject::new();
    std::fs::create_dir(&p.cache).unwrap();
    std::fs::set_permissions(&p.cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&p.cache, Some(65534), Some(65534)).unwrap();

    let run = p.inspect(kiln::guests::NULL_BUILDER);
    run.contains("Builder types:    null")
        .contains(&format!(
            "Warning: not using the component cache {}: it is owned by another user (uid 65534), and",
            p.cache.display()
        ))
        .contains("set KILN_CACHE_DIR to a directory of your own (or `chown` it to you)")
        .contains("Compiling in memory");
    assert_eq!(run.stderr.matches("Warning:").count(), 1, "one warning expected:\n{}", run.all());
    assert_eq!(std::fs::read_dir(&p.cache).unwrap().count(), 0, "kiln wrote into another user's directory");
}

fn two_kilns_filling_one_empty_cache_at_once_leave_valid_files_without_a_warning() {
    let p = CachedProject::new();
    let cache = p.cache.to_str().unwrap();
    // Started together: usually both find the cache empty, compile and
    // write the same file; whichever wins, neither may warn.
    let runs =
        p.project.run_at_once(2, &["plugins", "inspect", kiln::guests::NULL_BUILDER], &[("KILN_CACHE_DIR", cache)]);
    for run in runs {
        run.code(0).contains("Builder types:    null").lacks("Warning");
    }
    let files = p.files();
    assert_eq!(files.len(), 1, "one cached file and no temporary one expected, got {files:?}");
    assert!(files[0].extension().is_some_and(|e| e == "cwasm"), "{files:?}");
    // The file either wrote checks: loaded again without a warning, untouched.
    let bytes = std::fs::read(&files[0]).unwrap();
    p.inspect(kiln::guests::NULL_BUILDER).lacks("Warning").contains("Builder types:    null");
    assert_eq!(std::fs::read(&files[0]).unwrap(), bytes, "a good file was rewritten");
}

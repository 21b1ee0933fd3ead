//! The typst `World` of a report: fonts and the standard library are built
//! once per process and shared; each render adds only its main source, the
//! `/data.json` virtual file and an optional logo, at fixed paths (a typst
//! `FileId` is interned for the life of the process, so ids are never made
//! per request).

use std::sync::{Arc, LazyLock, OnceLock};

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// Inter Regular, SemiBold and Bold.
pub(super) const INTER: [&[u8]; 3] = [
    include_bytes!("../../../assets/fonts/Inter-Regular.otf"),
    include_bytes!("../../../assets/fonts/Inter-SemiBold.otf"),
    include_bytes!("../../../assets/fonts/Inter-Bold.otf"),
];

/// Noto Sans Hebrew and Arabic, Regular and Bold: the fallback for
/// right-to-left names, which Inter has no glyphs for.
pub(super) const RTL: [&[u8]; 4] = [
    include_bytes!("../../../assets/fonts/NotoSansHebrew-Regular.ttf"),
    include_bytes!("../../../assets/fonts/NotoSansHebrew-Bold.ttf"),
    include_bytes!("../../../assets/fonts/NotoSansArabic-Regular.ttf"),
    include_bytes!("../../../assets/fonts/NotoSansArabic-Bold.ttf"),
];

/// What never changes between renders.
pub(super) struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("fonts", &self.fonts.len())
            .finish()
    }
}

/// The process-wide fonts and library.
pub(super) fn shared() -> Arc<Shared> {
    static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let fonts: Vec<Font> = INTER
                .iter()
                .chain(RTL.iter())
                .copied()
                .chain(typst_assets::fonts())
                .flat_map(|data| Font::iter(Bytes::new(data)))
                .collect();
            Arc::new(Shared {
                library: LazyHash::new(Library::builder().build()),
                book: LazyHash::new(FontBook::from_fonts(&fonts)),
                fonts,
            })
        })
        .clone()
}

fn file_id(path: &str) -> Option<FileId> {
    VirtualPath::new(path)
        .ok()
        .map(|p| RootedPath::new(VirtualRoot::Project, p).intern())
}

/// The fixed virtual files: main template, data, logo as PNG or SVG.
pub(super) struct Ids {
    pub main: FileId,
    pub data: FileId,
    pub data_cbor: FileId,
    pub logo_png: FileId,
    pub logo_svg: FileId,
}

pub(super) fn ids() -> Option<&'static Ids> {
    static IDS: LazyLock<Option<Ids>> = LazyLock::new(|| {
        Some(Ids {
            main: file_id("/main.typ")?,
            data: file_id("/data.json")?,
            data_cbor: file_id("/data.cbor")?,
            logo_png: file_id("/logo.png")?,
            logo_svg: file_id("/logo.svg")?,
        })
    });
    IDS.as_ref()
}

/// One render's world.
pub(super) struct ReportWorld {
    pub shared: Arc<Shared>,
    pub ids: &'static Ids,
    pub main: Source,
    pub data: Bytes,
    pub data_cbor: Bytes,
    pub logo: Option<(FileId, Bytes)>,
    pub today: Option<Datetime>,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.shared.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.shared.book
    }

    fn main(&self) -> FileId {
        self.ids.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.ids.main {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.ids.data {
            return Ok(self.data.clone());
        }
        if id == self.ids.data_cbor {
            return Ok(self.data_cbor.clone());
        }
        match &self.logo {
            Some((logo_id, bytes)) if *logo_id == id => Ok(bytes.clone()),
            _ => Err(FileError::AccessDenied),
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.shared.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        self.today
    }
}

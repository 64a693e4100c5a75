//! A catalog download, judged as a whole before it replaces anything.
//!
//! The register downloads page by page into a staging store and keeps
//! selling from the catalog it has. [`CatalogDownload`] takes each page as
//! it arrives and says whether the download can go on; [`finish`] says
//! whether the whole is a catalog a register may sell from. Only then is it
//! swapped in, and only then is its version remembered: an interrupted or
//! refused download leaves the working catalog as it was, and the next sync
//! fetches again.
//!
//! [`finish`]: CatalogDownload::finish

use crate::api::CatalogPage;
use crate::catalog::{Catalog, CatalogError, Category, Product, TaxRate};
use crate::money::Currency;
use thiserror::Error;

/// The most products a register takes (a large store has 300,000).
pub const DOWNLOAD_PRODUCTS_MAX: u64 = 1_000_000;
/// The most products in one page (the OMS's own limit).
pub const DOWNLOAD_PAGE_PRODUCTS_MAX: usize = 20_000;
/// Categories and tax rates are short lists; a page with thousands is wrong.
pub const DOWNLOAD_LIST_MAX: usize = 10_000;
/// The most pages: every page but the last holds at least one product.
pub const DOWNLOAD_PAGES_MAX: u64 = DOWNLOAD_PRODUCTS_MAX + 1;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DownloadError {
    #[error("the catalog changed during the download ({0} then {1}); it will be fetched again")]
    VersionChanged(String, String),
    #[error("a later page differs from the first in its {0}")]
    HeaderChanged(&'static str),
    #[error("the catalog announces {0} products; at most {max} are taken", max = DOWNLOAD_PRODUCTS_MAX)]
    TooLarge(u64),
    #[error("a page holds {0} products; at most {max} are taken", max = DOWNLOAD_PAGE_PRODUCTS_MAX)]
    PageTooLarge(usize),
    #[error("the catalog has {0} {1}; at most {max} are taken", max = DOWNLOAD_LIST_MAX)]
    ListTooLong(usize, &'static str),
    #[error("the catalog announced {announced} products and sent {sent}")]
    WrongCount { announced: u64, sent: u64 },
    #[error("a page with no products is not the last page")]
    EmptyPage,
    #[error("the download was not finished (no last page)")]
    Unfinished,
    #[error("the catalog was refused: {0}")]
    Invalid(#[from] CatalogError),
}

/// What stays the same on every page of one catalog version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    version: String,
    currency: Currency,
    categories: Vec<Category>,
    tax_rates: Vec<TaxRate>,
    products_total: u64,
}

/// A download in progress: the pages so far, checked as they come.
#[derive(Debug)]
pub struct CatalogDownload {
    header: Header,
    products: Vec<Product>,
    pages: u64,
    last_seen: bool,
}

impl CatalogDownload {
    /// Starts with the first page (taken with [`CatalogDownload::add`]).
    pub fn start(first: &CatalogPage) -> Result<CatalogDownload, DownloadError> {
        if first.products_total > DOWNLOAD_PRODUCTS_MAX {
            return Err(DownloadError::TooLarge(first.products_total));
        }
        for (n, what) in [
            (first.categories.len(), "categories"),
            (first.tax_rates.len(), "tax rates"),
        ] {
            if n > DOWNLOAD_LIST_MAX {
                return Err(DownloadError::ListTooLong(n, what));
            }
        }
        Ok(CatalogDownload {
            header: Header {
                version: first.catalog_version.clone(),
                currency: first.currency,
                categories: first.categories.clone(),
                tax_rates: first.tax_rates.clone(),
                products_total: first.products_total,
            },
            products: Vec::new(),
            pages: 0,
            last_seen: false,
        })
    }

    /// The version being downloaded.
    pub fn version(&self) -> &str {
        &self.header.version
    }

    /// Products taken so far, and how many the catalog announced.
    pub fn progress(&self) -> (u64, u64) {
        (self.products.len() as u64, self.header.products_total)
    }

    /// Takes one page. An error ends the download: nothing of it is used.
    pub fn add(&mut self, page: &CatalogPage) -> Result<(), DownloadError> {
        self.check_header(page)?;
        if page.products.len() > DOWNLOAD_PAGE_PRODUCTS_MAX {
            return Err(DownloadError::PageTooLarge(page.products.len()));
        }
        let last = page.next_cursor.is_none();
        if page.products.is_empty() && !last {
            return Err(DownloadError::EmptyPage);
        }
        let sent = self.products.len() as u64 + page.products.len() as u64;
        if sent > self.header.products_total {
            return Err(DownloadError::WrongCount {
                announced: self.header.products_total,
                sent,
            });
        }
        self.pages += 1;
        self.products.extend(page.products.iter().cloned());
        self.last_seen = last;
        Ok(())
    }

    fn check_header(&self, page: &CatalogPage) -> Result<(), DownloadError> {
        let h = &self.header;
        if page.catalog_version != h.version {
            return Err(DownloadError::VersionChanged(
                h.version.clone(),
                page.catalog_version.clone(),
            ));
        }
        let differs = [
            (page.currency != h.currency, "currency"),
            (page.categories != h.categories, "categories"),
            (page.tax_rates != h.tax_rates, "tax rates"),
            (page.products_total != h.products_total, "product count"),
        ];
        match differs.iter().find(|(d, _)| *d) {
            Some((_, what)) => Err(DownloadError::HeaderChanged(what)),
            None => Ok(()),
        }
    }

    /// The whole download, judged: every page came, the count is what was
    /// announced, and the products make a catalog (unique ids and barcodes,
    /// known categories and tax rates, one currency, bounded text).
    pub fn finish(self) -> Result<FinishedCatalog, DownloadError> {
        if !self.last_seen {
            return Err(DownloadError::Unfinished);
        }
        let sent = self.products.len() as u64;
        if sent != self.header.products_total {
            return Err(DownloadError::WrongCount {
                announced: self.header.products_total,
                sent,
            });
        }
        let h = self.header;
        let catalog = Catalog::new(
            h.currency,
            h.categories.clone(),
            h.tax_rates.clone(),
            self.products,
        )?;
        Ok(FinishedCatalog {
            version: h.version,
            currency: h.currency,
            categories: h.categories,
            tax_rates: h.tax_rates,
            products_total: h.products_total,
            pages: self.pages,
            catalog,
        })
    }
}

/// A complete, valid download: what the register swaps in.
#[derive(Debug)]
pub struct FinishedCatalog {
    pub version: String,
    pub currency: Currency,
    pub categories: Vec<Category>,
    pub tax_rates: Vec<TaxRate>,
    pub products_total: u64,
    pub pages: u64,
    pub catalog: Catalog,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fixtures::small;

    fn pages(catalog: &Catalog, version: &str, per_page: usize) -> Vec<CatalogPage> {
        let mut products: Vec<Product> = catalog.products().cloned().collect();
        products.sort_by(|a, b| a.id.cmp(&b.id));
        let total = products.len() as u64;
        let chunks: Vec<Vec<Product>> = products.chunks(per_page).map(<[_]>::to_vec).collect();
        let n = chunks.len();
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, products)| CatalogPage {
                catalog_version: version.into(),
                currency: catalog.currency(),
                categories: catalog.categories().to_vec(),
                tax_rates: {
                    let mut r: Vec<TaxRate> = catalog
                        .products()
                        .map(|p| catalog.tax_rate(&p.tax_rate).unwrap().clone())
                        .collect();
                    r.sort_by(|a, b| a.id.cmp(&b.id));
                    r.dedup();
                    r
                },
                products,
                next_cursor: (i + 1 < n).then(|| format!("c{i}")),
                products_total: total,
            })
            .collect()
    }

    fn download(pages: &[CatalogPage]) -> Result<FinishedCatalog, DownloadError> {
        let mut d = CatalogDownload::start(&pages[0])?;
        for p in pages {
            d.add(p)?;
        }
        d.finish()
    }

    #[test]
    fn a_whole_download_is_a_catalog() {
        let c = small();
        let done = download(&pages(&c, "c-1", 2)).unwrap();
        assert_eq!(done.catalog.len(), c.len());
        assert_eq!(done.version, "c-1");
        assert!(done.pages >= 2);
    }

    #[test]
    fn an_interrupted_download_is_not_a_catalog() {
        let c = small();
        let all = pages(&c, "c-1", 2);
        let mut d = CatalogDownload::start(&all[0]).unwrap();
        d.add(&all[0]).unwrap();
        assert_eq!(d.finish().unwrap_err(), DownloadError::Unfinished);
    }

    #[test]
    fn a_duplicate_barcode_refuses_the_whole_catalog() {
        let c = small();
        let mut all = pages(&c, "c-1", 100);
        let products = &mut all[0].products;
        let code = products
            .iter()
            .find_map(|p| p.barcodes.first().cloned())
            .unwrap();
        let other = products
            .iter_mut()
            .find(|p| !p.barcodes.contains(&code))
            .unwrap();
        other.barcodes.push(code);
        let e = download(&all).unwrap_err();
        assert!(
            matches!(
                e,
                DownloadError::Invalid(CatalogError::DuplicateBarcode { .. })
            ),
            "{e}"
        );
    }

    #[test]
    fn pages_of_another_version_or_header_end_the_download() {
        let c = small();
        let mut all = pages(&c, "c-1", 2);
        all[1].catalog_version = "c-2".into();
        assert!(matches!(
            download(&all),
            Err(DownloadError::VersionChanged(..))
        ));
        let mut all = pages(&c, "c-1", 2);
        all[1].categories.pop();
        assert_eq!(
            download(&all).unwrap_err(),
            DownloadError::HeaderChanged("categories")
        );
    }

    #[test]
    fn counts_and_sizes_are_bounded() {
        let c = small();
        let mut all = pages(&c, "c-1", 2);
        for p in &mut all {
            p.products_total -= 1;
        }
        assert!(matches!(
            download(&all),
            Err(DownloadError::WrongCount { .. })
        ));
        let mut all = pages(&c, "c-1", 2);
        for p in &mut all {
            p.products_total += 1;
        }
        assert!(matches!(
            download(&all),
            Err(DownloadError::WrongCount { .. })
        ));
        let mut all = pages(&c, "c-1", 100);
        all[0].products_total = DOWNLOAD_PRODUCTS_MAX + 1;
        assert!(matches!(download(&all), Err(DownloadError::TooLarge(_))));
        let mut all = pages(&c, "c-1", 2);
        all[0].products.clear();
        assert_eq!(download(&all).unwrap_err(), DownloadError::EmptyPage);
    }
}

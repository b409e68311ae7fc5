/* SPDX-License-Identifier: MIT */
/*
 * The report's real HTML, CSS and JS files (report/assets/), turned into C strings at build
 * time by tools/embed.c (build/gen/assets.c). Static data; never freed.
 */
#ifndef FH_REPORT_ASSETS_H
#define FH_REPORT_ASSETS_H

extern const char fh_asset_page_html[];
extern const unsigned long fh_asset_page_html_len;
extern const char fh_asset_report_css[];
extern const unsigned long fh_asset_report_css_len;
extern const char fh_asset_report_js[];
extern const unsigned long fh_asset_report_js_len;

#endif

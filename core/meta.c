/* SPDX-License-Identifier: MIT */
/*
 * meta.json of a run directory (docs/FORMATS.md) into struct fh_run_meta: defaults first (run
 * id from the directory name), then what the file says; hostile input (records.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "files.h"
#include "jsonval.h"
#include "records.h"

static void meta_defaults(struct fh_run *run, struct fh_run_meta *m, const char *dir)
{
	const char *base = NULL;

	memset(m, 0, sizeof(*m));
	if (dir) {
		const char *end = dir + strlen(dir);

		while (end > dir && end[-1] == '/')
			end--;
		base = end;
		while (base > dir && base[-1] != '/')
			base--;
		m->run_id = arena_strndup(&run->arena, base, (size_t)(end - base));
	}
	if (!m->run_id || !*m->run_id)
		m->run_id = "unknown";
	m->started_utc = "";
	m->host = m->os = m->python = m->pytest = m->plugin_version = "";
	m->cpu_count = 0;
	m->runs_per_test = 0;
	m->tracing = false;
	m->runs_mode = "fixed";
	m->fail_on = "any";
	m->order_mode = "back-to-back";
	m->order_seed = -1;
}

static const char *meta_str(struct fh_run *run, const cJSON *o, const char *key, const char *dflt)
{
	const char *s = json_get_str(o, key);

	return s ? arena_strdup_capped(&run->arena, s, 1024) : dflt;
}

static int meta_parse_into(struct fh_run *run, struct fh_run_meta *m, const char *name,
			   const char *data, size_t len)
{
	const cJSON *git;
	cJSON *root;

	root = cJSON_ParseWithLength(data, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		warning("%s:1: not a JSON object; using defaults", name);
		return -EINVAL;
	}
	m->run_id = meta_str(run, root, "run_id", m->run_id);
	m->started_utc = meta_str(run, root, "started_utc", m->started_utc);
	m->host = meta_str(run, root, "host", m->host);
	m->os = meta_str(run, root, "os", m->os);
	m->python = meta_str(run, root, "python", m->python);
	m->pytest = meta_str(run, root, "pytest", m->pytest);
	m->plugin_version = meta_str(run, root, "plugin_version", m->plugin_version);
	m->rootdir = meta_str(run, root, "rootdir", m->rootdir);
	m->runs_per_test = json_get_int(root, "runs_per_test", m->runs_per_test);
	if (m->runs_per_test < 0)
		m->runs_per_test = 0;
	m->cpu_count = json_get_int(root, "cpu_count", m->cpu_count);
	m->ram_bytes = json_get_i64(root, "ram_bytes");
	m->isolate = json_get_bool(root, "isolate", m->isolate);
	m->xdist = json_get_bool(root, "xdist", m->xdist);
	m->tracing = json_get_bool(root, "tracing", m->tracing);
	m->runs_mode = meta_str(run, root, "runs_mode", m->runs_mode);
	m->max_runs = json_get_int(root, "max_runs", m->max_runs);
	m->budget_s = json_num(json_get(root, "budget_s"), 0);
	if (!(m->budget_s > 0 && m->budget_s < 1e9))
		m->budget_s = 0;
	m->fail_on = meta_str(run, root, "fail_on", m->fail_on);
	{
		const cJSON *ord = json_get(root, "order");
		if (cJSON_IsObject(ord)) {
			const char *mode = meta_str(run, ord, "mode", NULL);
			const cJSON *seed = json_get(ord, "seed");
			if (mode && (!strcmp(mode, "rounds") || !strcmp(mode, "back-to-back")))
				m->order_mode = mode;
			if (cJSON_IsNumber(seed) && seed->valuedouble >= 0 &&
			    seed->valuedouble < 1e15)
				m->order_seed = (long long)seed->valuedouble;
		}
	}
	git = json_get(root, "git");
	if (cJSON_IsObject(git)) {
		m->branch = meta_str(run, git, "branch", NULL);
		m->commit = meta_str(run, git, "commit", NULL);
		m->dirty = json_get_bool(git, "dirty", false);
	}
	cJSON_Delete(root);
	return 0;
}

int meta_parse_buffer(struct fh_run *run, const char *name, const char *data, size_t len)
{
	return meta_parse_into(run, &run->meta, name, data, len);
}

void meta_load_dir(struct fh_run *run, const char *dir, struct fh_run_meta *m)
{
	struct buf path = BUF_INIT(PATH_MAX);
	char *data;
	size_t len;
	int r;

	meta_defaults(run, m, dir);
	buf_printf(&path, "%s/meta.json", dir);
	r = read_file(buf_str(&path), 16 << 20, &data, &len);
	if (r == 0) {
		meta_parse_into(run, m, buf_str(&path), data, len);
		free(data);
	} else if (r != -ENOENT) {
		warning("%s: cannot read: %s; using defaults", buf_str(&path), fh_strerror(r));
	}
	/* lost.json: how many records the plugin could not write (written at the session's end,
	 * when the disk let it; the plugin also passes the count with --lost-records). */
	buf_reset(&path);
	buf_printf(&path, "%s/lost.json", dir);
	if (read_file(buf_str(&path), 1 << 16, &data, &len) == 0) {
		cJSON *root = cJSON_ParseWithLength(data, len);
		const cJSON *v = cJSON_IsObject(root) ? json_get(root, "lost_records") : NULL;

		if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9)
			m->lost_records = (int)v->valuedouble;
		else
			warning("%s: no \"lost_records\" count; ignored", buf_str(&path));
		cJSON_Delete(root);
		free(data);
	}
	buf_free(&path);
}

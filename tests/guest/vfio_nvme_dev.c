// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_nvme_dev.c - the device side of vfio_nvme_probe: JSON output, error
 * handling, the sysfs view of a PCI device, the VFIO no-IOMMU device and
 * the NVMe register dump.  See vfio_nvme_probe.c for the JSON keys.
 */
#include "vfio_nvme.h"

/* ------------------------------------------------------------------ */
/* JSON output: one object, built up as we go, printed once at exit.  */

static struct {
	char *s;
	size_t len, cap;
	int depth;
	bool first[16];
} js;

static void js_raw(const char *s)
{
	size_t n = strlen(s);

	if (js.len + n + 1 > js.cap) {
		js.cap = (js.len + n + 1) * 2;
		js.s = realloc(js.s, js.cap);
		if (!js.s) {
			fputs("vfio_nvme_probe: out of memory\n", stderr);
			exit(EXIT_IO);
		}
	}
	memcpy(js.s + js.len, s, n + 1);
	js.len += n;
}

static void js_str_escaped(const char *s)
{
	char buf[8];

	js_raw("\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[0] = '\\';
			buf[1] = c;
			buf[2] = 0;
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(buf, sizeof(buf), "\\u%04x", c);
		} else {
			buf[0] = c;
			buf[1] = 0;
		}
		js_raw(buf);
	}
	js_raw("\"");
}

static void js_key(const char *key)
{
	if (!js.first[js.depth])
		js_raw(",");
	js.first[js.depth] = false;
	if (key) {
		js_str_escaped(key);
		js_raw(":");
	}
}

bool js_empty(void)
{
	return js.depth == 0 && js.len == 0;
}

void js_open(const char *key)
{
	if (js.depth == 0 && js.len == 0) {
		js_raw("{");
	} else {
		js_key(key);
		js_raw("{");
	}
	js.depth++;
	js.first[js.depth] = true;
}

void js_close(void)
{
	js_raw("}");
	js.depth--;
}

void js_str(const char *key, const char *val)
{
	js_key(key);
	if (val)
		js_str_escaped(val);
	else
		js_raw("null");
}

void js_int(const char *key, long long val)
{
	char buf[32];

	js_key(key);
	snprintf(buf, sizeof(buf), "%lld", val);
	js_raw(buf);
}

void js_hex(const char *key, uint64_t val, int width)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%0*" PRIx64, width, val);
	js_str(key, buf);
}

void js_bool(const char *key, bool val)
{
	js_key(key);
	js_raw(val ? "true" : "false");
}

void js_null(const char *key)
{
	js_key(key);
	js_raw("null");
}

void js_print(void)
{
	while (js.depth > 0)
		js_close();
	printf("%s\n", js.s ? js.s : "{}");
	fflush(stdout);
}

/* Print the object with "ok":false and the reason, and exit. */
void __attribute__((noreturn, format(printf, 2, 3)))
fail(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vfio_nvme_probe: %s\n", msg);
	if (js.depth == 0 && js.len == 0)
		js_open(NULL);
	while (js.depth > 1)
		js_close();
	js_bool("ok", false);
	js_str("error", msg);
	js_int("exit", code);
	js_print();
	exit(code);
}

/* Failed checks, collected so that one run reports all of them */
static char checks[1024];

void __attribute__((format(printf, 1, 2)))
check_failed(const char *fmt, ...)
{
	size_t len = strlen(checks);
	va_list ap;

	if (len && len + 2 < sizeof(checks)) {
		strcat(checks, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(checks + len, sizeof(checks) - len, fmt, ap);
	va_end(ap);
}

void checks_done(void)
{
	if (checks[0])
		fail(EXIT_CHECK, "%s", checks);
}

void sigbus_handler(int sig)
{
	static const char err[] =
		"vfio_nvme_probe: SIGBUS on a BAR access (memory decode off or device gone)\n";
	static const char out[] =
		"{\"ok\":false,\"error\":\"SIGBUS on a BAR access\",\"exit\":2}\n";
	ssize_t r;

	(void)sig;
	r = write(STDERR_FILENO, err, sizeof(err) - 1);
	r = write(STDOUT_FILENO, out, sizeof(out) - 1);
	(void)r;
	_exit(EXIT_IO);
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned int timeout_ms; /* 0: derive from CAP.TO */

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return (int)n;
}

/* Read 16 bits of config space from a sysfs config file */
int sysfs_config16(const char *devdir, unsigned int off, uint16_t *val)
{
	char path[PATH_MAX];
	uint8_t b[2];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/config", devdir);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = pread(fd, b, 2, off);
	close(fd);
	if (n != 2)
		return n < 0 ? -errno : -EIO;
	*val = b[0] | (b[1] << 8);
	return 0;
}

/* strcpy into a fixed buffer, failing on overflow */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		fail(EXIT_IO, "path too long: %s", src);
	memcpy(dst, src, n + 1);
}

bool parse_bdf(const char *in, char *out, size_t outsz)
{
	unsigned int d = 0, b, s, f;
	char end;

	if (sscanf(in, "%x:%x:%x.%x%c", &d, &b, &s, &f, &end) == 4) {
		/* DDDD:BB:DD.F */
	} else if (sscanf(in, "%x:%x.%x%c", &b, &s, &f, &end) == 3) {
		d = 0;
	} else {
		return false;
	}
	if (d > 0xffff || b > 0xff || s > 0x1f || f > 7)
		return false;
	snprintf(out, outsz, "%04x:%02x:%02x.%x", d, b, s, f);
	return true;
}

static bool looks_like_bdf(const char *name)
{
	char tmp[32];

	return parse_bdf(name, tmp, sizeof(tmp)) && strlen(name) == 12;
}

/* ------------------------------------------------------------------ */
/* Sysfs view: works without opening the device                       */

void sysfs_lookup(const char *bdf, struct sysview *sv)
{
	char path[PATH_MAX], link[PATH_MAX], real[PATH_MAX], parent[PATH_MAX];
	char val[32], *name;
	ssize_t n;

	memset(sv, 0, sizeof(*sv));
	sv->keep_alive = -1;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	if (!realpath(path, real))
		fail(EXIT_IO, "no PCI device %s (%s: %s)", bdf, path,
		     strerror(errno));
	copy_str(sv->devdir, sizeof(sv->devdir), real);

	snprintf(path, sizeof(path), "%s/driver", sv->devdir);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		copy_str(sv->driver, sizeof(sv->driver), basename(link));
	}

	snprintf(path, sizeof(path), "%s/power_state", sv->devdir);
	if (read_file(path, val, sizeof(val)) > 0)
		copy_str(sv->power_state, sizeof(sv->power_state), val);

	snprintf(path, sizeof(path), "%s/keep_alive", sv->devdir);
	if (read_file(path, val, sizeof(val)) > 0)
		sv->keep_alive = atoi(val);

	/* The parent directory is the upstream bridge, unless a root bus */
	copy_str(parent, sizeof(parent), sv->devdir);
	name = strrchr(parent, '/');
	if (name)
		*name = 0;
	name = strrchr(parent, '/');
	if (name && looks_like_bdf(name + 1)) {
		copy_str(sv->bridgedir, sizeof(sv->bridgedir), parent);
		copy_str(sv->bridge, sizeof(sv->bridge), name + 1);
		snprintf(path, sizeof(path), "%s/power_state", sv->bridgedir);
		if (read_file(path, val, sizeof(val)) > 0)
			copy_str(sv->bridge_power_state,
				 sizeof(sv->bridge_power_state), val);
	}
}

/* ------------------------------------------------------------------ */
/* VFIO device, in a no-IOMMU group or (with an IOMMU) a type1 group    */

/* --vf-token UUID: appended to the device name, needed to open a VF */
const char *vf_token;

void vfio_open(struct vdev *v, const char *bdf, struct sysview *sv)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	char path[PATH_MAX], link[PATH_MAX], name[128];
	int ret, type;
	ssize_t n;

	memset(v, 0, sizeof(*v));
	v->container = v->group = v->device = -1;
	snprintf(v->bdf, sizeof(v->bdf), "%s", bdf);

	if (strcmp(sv->driver, "vfio-pci"))
		fail(EXIT_IO, "%s is bound to %s, not vfio-pci", bdf,
		     sv->driver[0] ? sv->driver : "no driver");

	snprintf(path, sizeof(path), "%s/iommu_group", sv->devdir);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		fail(EXIT_IO, "%s: %s", path, strerror(errno));
	link[n] = 0;
	v->groupnr = atoi(basename(link));

	v->container = open("/dev/vfio/vfio", O_RDWR);
	if (v->container < 0)
		fail(EXIT_IO, "/dev/vfio/vfio: %s", strerror(errno));
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		fail(EXIT_IO, "/dev/vfio/vfio: unknown VFIO API version");

	type = vfio_group_open(v, path, sizeof(path));
	v->group = open(path, O_RDWR);
	if (v->group < 0)
		fail(EXIT_IO, "%s: %s", path, strerror(errno));
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &gs))
		fail(EXIT_IO, "%s: VFIO_GROUP_GET_STATUS: %s", path,
		     strerror(errno));
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		fail(EXIT_IO, "%s: group not viable", path);
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container))
		fail(EXIT_IO, "%s: VFIO_GROUP_SET_CONTAINER: %s", path,
		     strerror(errno));
	if (ioctl(v->container, VFIO_SET_IOMMU, type))
		fail(EXIT_IO, "/dev/vfio/vfio: VFIO_SET_IOMMU: %s",
		     strerror(errno));

	if (vf_token)
		snprintf(name, sizeof(name), "%s vf_token=%s", bdf, vf_token);
	else
		snprintf(name, sizeof(name), "%s", bdf);
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, name);
	if (v->device < 0)
		fail(EXIT_IO, "%s: VFIO_GROUP_GET_DEVICE_FD %s: %s", path, bdf,
		     strerror(errno));

	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri))
		fail(EXIT_IO, "%s: config region info: %s", bdf,
		     strerror(errno));
	v->cfg_off = ri.offset;

	memset(&ri, 0, sizeof(ri));
	ri.argsz = sizeof(ri);
	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	ret = ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri);
	if (ret)
		fail(EXIT_IO, "%s: BAR0 region info: %s", bdf, strerror(errno));
	v->bar_off = ri.offset;
	v->bar_size = ri.size;
	v->bar_flags = ri.flags;
}

void vfio_close(struct vdev *v)
{
	if (v->bar)
		munmap((void *)v->bar, v->bar_size);
	v->bar = NULL;
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	v->device = v->group = v->container = -1;
}

uint16_t cfg_read16(struct vdev *v, unsigned int off)
{
	uint16_t val;

	if (pread(v->device, &val, 2, v->cfg_off + off) != 2)
		fail(EXIT_IO, "%s: config read at 0x%x: %s", v->bdf, off,
		     strerror(errno));
	return val;
}

void cfg_write16(struct vdev *v, unsigned int off, uint16_t val)
{
	if (pwrite(v->device, &val, 2, v->cfg_off + off) != 2)
		fail(EXIT_IO, "%s: config write at 0x%x: %s", v->bdf, off,
		     strerror(errno));
}

void bar_map(struct vdev *v)
{
	void *p;

	if (v->bar)
		return;
	if (v->bar_size < 0x2000)
		fail(EXIT_IO, "%s: BAR0 too small for NVMe", v->bdf);
	if (!(v->bar_flags & VFIO_REGION_INFO_FLAG_MMAP))
		fail(EXIT_IO, "%s: BAR0 cannot be mmapped", v->bdf);
	p = mmap(NULL, v->bar_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 v->device, v->bar_off);
	if (p == MAP_FAILED)
		fail(EXIT_IO, "%s: mmap BAR0: %s", v->bdf, strerror(errno));
	v->bar = p;
}

int feature_raw(struct vdev *v, uint32_t flags, uint32_t argsz, void *data,
		size_t len)
{
	uint64_t buf[8];
	struct vfio_device_feature *f = (void *)buf;

	if (len > sizeof(buf) - sizeof(*f))
		fail(EXIT_IO, "feature payload of %zu bytes too large", len);
	memset(buf, 0, sizeof(buf));
	f->argsz = argsz;
	f->flags = flags;
	if (len)
		memcpy(f->data, data, len);
	if (ioctl(v->device, VFIO_DEVICE_FEATURE, f))
		return -errno;
	if ((flags & VFIO_DEVICE_FEATURE_GET) && len)
		memcpy(data, f->data, len);
	return 0;
}

int ka_feature(struct vdev *v, uint32_t op,
	       struct vfio_device_feature_keep_alive *ka)
{
	uint32_t flags = op | VFIO_DEVICE_FEATURE_KEEP_ALIVE;

	if (op == VFIO_DEVICE_FEATURE_PROBE)
		flags |= VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET;
	return feature_raw(v, flags, sizeof(struct vfio_device_feature) + sizeof(*ka),
			   ka, op == VFIO_DEVICE_FEATURE_PROBE ? 0 : sizeof(*ka));
}

int js_keep_alive(struct vdev *v, const char *key)
{
	struct vfio_device_feature_keep_alive ka = { 0 };
	int ret = ka_feature(v, VFIO_DEVICE_FEATURE_PROBE, &ka);

	if (ret == -ENOTTY || ret == -EINVAL) {
		js_null(key);
		return ret;
	}
	if (!ret)
		ret = ka_feature(v, VFIO_DEVICE_FEATURE_GET, &ka);
	if (ret)
		fail(EXIT_IO, "%s: VFIO_DEVICE_FEATURE keep-alive: %s", v->bdf,
		     strerror(-ret));
	js_open(key);
	js_int("enable", ka.enable);
	js_hex("flags", ka.flags, 1);
	js_int("restored", !!(ka.flags & VFIO_DEVICE_KEEP_ALIVE_RESTORED));
	js_close();
	return 0;
}

/* ------------------------------------------------------------------ */
/* Register dump                                                      */

static void js_command(const char *prefix, uint16_t cmd)
{
	char key[48];

	snprintf(key, sizeof(key), "%s_command", prefix);
	js_hex(key, cmd, 4);
	snprintf(key, sizeof(key), "%s_mem", prefix);
	js_int(key, !!(cmd & 0x2));
	snprintf(key, sizeof(key), "%s_bme", prefix);
	js_int(key, !!(cmd & 0x4));
}

void js_sysview(struct sysview *sv, bool with_dev_config)
{
	uint16_t cmd;

	js_str("driver", sv->driver[0] ? sv->driver : NULL);
	js_str("power_state", sv->power_state[0] ? sv->power_state : NULL);
	if (sv->keep_alive >= 0)
		js_int("sysfs_keep_alive", sv->keep_alive);
	else
		js_null("sysfs_keep_alive");
	if (with_dev_config) {
		if (sysfs_config16(sv->devdir, 0x04, &cmd))
			fail(EXIT_IO, "%s/config: cannot read", sv->devdir);
		js_command("pci", cmd);
		js_int("pci_intx_disable", !!(cmd & 0x400));
		js_cap_enable(sv->devdir, "pci_msi_enable", 0x05, 0x0001);
		js_cap_enable(sv->devdir, "pci_msix_enable", 0x11, 0x8000);
	}
	js_str("bridge", sv->bridge[0] ? sv->bridge : NULL);
	if (sv->bridge[0]) {
		js_str("bridge_power_state",
		       sv->bridge_power_state[0] ? sv->bridge_power_state :
						    NULL);
		if (sysfs_config16(sv->bridgedir, 0x04, &cmd))
			fail(EXIT_IO, "%s/config: cannot read", sv->bridgedir);
		js_command("bridge", cmd);
	}
}

uint16_t js_nvme_regs(struct vdev *v)
{
	uint16_t cmd = cfg_read16(v, 0x04);
	uint32_t cc, csts;
	uint64_t cap;

	js_command("pci", cmd);
	if (!(cmd & 0x2)) {
		js_null("nvme");
		return cmd;
	}
	bar_map(v);
	cap = rd64(v, NVME_REG_CAP);
	cc = rd32(v, NVME_REG_CC);
	csts = rd32(v, NVME_REG_CSTS);
	js_open("nvme");
	js_hex("cap", cap, 16);
	js_hex("vs", rd32(v, NVME_REG_VS), 8);
	js_hex("cc", cc, 8);
	js_int("cc_en", cc & NVME_CC_EN);
	js_hex("csts", csts, 8);
	js_int("csts_rdy", !!(csts & NVME_CSTS_RDY));
	js_int("csts_cfs", !!(csts & NVME_CSTS_CFS));
	js_hex("aqa", rd32(v, NVME_REG_AQA), 8);
	js_hex("asq", rd64(v, NVME_REG_ASQ), 16);
	js_hex("acq", rd64(v, NVME_REG_ACQ), 16);
	js_close();
	return cmd;
}

void js_regs(struct vdev *v, struct sysview *sv, const char *key)
{
	js_open(key);
	js_bool("opened", true);
	js_nvme_regs(v);
	js_keep_alive(v, "keep_alive");
	/* sysfs after the open: power state and bridge as the open left them */
	sysfs_lookup(v->bdf, sv);
	js_sysview(sv, false);
	js_close();
}


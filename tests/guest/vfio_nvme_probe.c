// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_nvme_probe - drive an NVMe controller from userspace through VFIO in
 * no-IOMMU mode, to check that the controller and its admin queue survive
 * closing the device and a kexec reboot (the vfio-pci keep-alive patches).
 *
 * Runs inside the test guest (busybox, static binary):
 *   gcc -static -O2 -Wall -o vfio_nvme_probe vfio_nvme_probe.c
 *
 * Every subcommand prints exactly one JSON object on one line on stdout.
 * Exit status: 0 all checks passed, 1 a check failed, 2 usage or I/O error.
 * Errors are also written to stderr, prefixed with "vfio_nvme_probe: ".
 *
 * The admin queues, the Identify buffer and a state block live in a
 * physical range the kernel does not use (memmap=), mapped through
 * /dev/mem.  With no IOMMU, device DMA addresses are physical addresses.
 * Layout, from --mem PHYS (page aligned, at least MEM_SIZE bytes):
 *   PHYS + 0x0000  admin submission queue (QSIZE_MAX entries of 64 bytes)
 *   PHYS + 0x1000  admin completion queue (QSIZE_MAX entries of 16 bytes)
 *   PHYS + 0x2000  Identify Controller data (4096 bytes)
 *   PHYS + 0x3000  state block (struct probe_state)
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/vfio.h>

/* From the keep-alive series; the build host's headers may predate it. */
#ifndef VFIO_DEVICE_FEATURE_KEEP_ALIVE
#define VFIO_DEVICE_FEATURE_KEEP_ALIVE 11
struct vfio_device_feature_keep_alive {
	__u32 enable;
	__u32 flags;
#define VFIO_DEVICE_KEEP_ALIVE_RESTORED (1 << 0)
};
#endif

#define EXIT_CHECK 1
#define EXIT_IO 2

/* Memory layout inside the reserved range */
#define OFF_SQ 0x0000
#define OFF_CQ 0x1000
#define OFF_ID 0x2000
#define OFF_STATE 0x3000
#define MEM_SIZE 0x4000
#define QSIZE_MAX 32

#define STATE_MAGIC 0x564e4450 /* "PDNV" */
#define STATE_VERSION 1

/* NVMe controller registers */
#define NVME_CAP 0x00
#define NVME_VS 0x08
#define NVME_INTMS 0x0c
#define NVME_CC 0x14
#define NVME_CSTS 0x1c
#define NVME_AQA 0x24
#define NVME_ASQ 0x28
#define NVME_ACQ 0x30
#define NVME_DB 0x1000

#define CC_EN (1u << 0)
#define CC_IOSQES(x) ((uint32_t)(x) << 16)
#define CC_IOCQES(x) ((uint32_t)(x) << 20)
#define CSTS_RDY (1u << 0)
#define CSTS_CFS (1u << 1)

#define CAP_MQES(c) ((uint32_t)((c) & 0xffff))
#define CAP_TO(c) ((uint32_t)(((c) >> 24) & 0xff))
#define CAP_DSTRD(c) ((uint32_t)(((c) >> 32) & 0xf))
#define CAP_CSS_NVM(c) (((c) >> 37) & 1)
#define CAP_MPSMIN(c) ((uint32_t)(((c) >> 48) & 0xf))

#define NVME_ADMIN_IDENTIFY 0x06
#define NVME_ID_CNS_CTRL 0x01

struct nvme_sqe {
	uint32_t cdw0;
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
	uint32_t dw0, dw1;
	uint16_t sqhd, sqid;
	uint16_t cid;
	uint16_t status; /* bit 0: phase tag */
};

/* Kept at PHYS + OFF_STATE, across kexec */
struct probe_state {
	uint32_t magic;
	uint32_t version;
	uint64_t asq, acq, idbuf;
	uint32_t aqa;
	uint32_t qsize;
	uint32_t sq_tail;
	uint32_t cq_head;
	uint32_t phase;
	uint32_t next_cid;
	uint32_t dstrd;
	uint32_t identify_count;
	char bdf[16];
};

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

static void js_open(const char *key)
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

static void js_close(void)
{
	js_raw("}");
	js.depth--;
}

static void js_str(const char *key, const char *val)
{
	js_key(key);
	if (val)
		js_str_escaped(val);
	else
		js_raw("null");
}

static void js_int(const char *key, long long val)
{
	char buf[32];

	js_key(key);
	snprintf(buf, sizeof(buf), "%lld", val);
	js_raw(buf);
}

static void js_hex(const char *key, uint64_t val, int width)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%0*" PRIx64, width, val);
	js_str(key, buf);
}

static void js_bool(const char *key, bool val)
{
	js_key(key);
	js_raw(val ? "true" : "false");
}

static void js_null(const char *key)
{
	js_key(key);
	js_raw("null");
}

static void js_print(void)
{
	while (js.depth > 0)
		js_close();
	printf("%s\n", js.s ? js.s : "{}");
	fflush(stdout);
}

/* Print the object with "ok":false and the reason, and exit. */
static void __attribute__((noreturn, format(printf, 2, 3)))
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

static void __attribute__((format(printf, 1, 2)))
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

static void checks_done(void)
{
	if (checks[0])
		fail(EXIT_CHECK, "%s", checks);
}

static void sigbus_handler(int sig)
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

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned int timeout_ms = 0; /* 0: derive from CAP.TO */

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
static int sysfs_config16(const char *devdir, unsigned int off, uint16_t *val)
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

static bool parse_bdf(const char *in, char *out, size_t outsz)
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

struct sysview {
	char devdir[1024];
	char bridge[32];
	char bridgedir[1024];
	char driver[64];
	char power_state[32];
	char bridge_power_state[32];
	int keep_alive; /* sysfs attribute, -1: absent */
};

static void sysfs_lookup(const char *bdf, struct sysview *sv)
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
/* VFIO no-IOMMU device                                                */

struct vdev {
	char bdf[32];
	int container, group, device;
	int groupnr;
	uint64_t cfg_off;
	uint64_t bar_off, bar_size;
	uint32_t bar_flags;
	volatile uint8_t *bar;
};

static void vfio_open(struct vdev *v, const char *bdf, struct sysview *sv)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	int ret;

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
	if (ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) != 1)
		fail(EXIT_IO,
		     "/dev/vfio/vfio: no-IOMMU mode not available (vfio.enable_unsafe_noiommu_mode=1?)");

	snprintf(path, sizeof(path), "/dev/vfio/noiommu-%d", v->groupnr);
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
	if (ioctl(v->container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU))
		fail(EXIT_IO, "/dev/vfio/vfio: VFIO_SET_IOMMU: %s",
		     strerror(errno));

	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
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
	if (ret || ri.size < 0x2000)
		fail(EXIT_IO, "%s: BAR0 region info: %s", bdf,
		     ret ? strerror(errno) : "BAR0 too small for NVMe");
	v->bar_off = ri.offset;
	v->bar_size = ri.size;
	v->bar_flags = ri.flags;
}

static void vfio_close(struct vdev *v)
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

static uint16_t cfg_read16(struct vdev *v, unsigned int off)
{
	uint16_t val;

	if (pread(v->device, &val, 2, v->cfg_off + off) != 2)
		fail(EXIT_IO, "%s: config read at 0x%x: %s", v->bdf, off,
		     strerror(errno));
	return val;
}

static void cfg_write16(struct vdev *v, unsigned int off, uint16_t val)
{
	if (pwrite(v->device, &val, 2, v->cfg_off + off) != 2)
		fail(EXIT_IO, "%s: config write at 0x%x: %s", v->bdf, off,
		     strerror(errno));
}

static void bar_map(struct vdev *v)
{
	void *p;

	if (v->bar)
		return;
	if (!(v->bar_flags & VFIO_REGION_INFO_FLAG_MMAP))
		fail(EXIT_IO, "%s: BAR0 cannot be mmapped", v->bdf);
	p = mmap(NULL, v->bar_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 v->device, v->bar_off);
	if (p == MAP_FAILED)
		fail(EXIT_IO, "%s: mmap BAR0: %s", v->bdf, strerror(errno));
	v->bar = p;
}

static uint32_t rd32(struct vdev *v, unsigned int off)
{
	return *(volatile uint32_t *)(v->bar + off);
}

static uint64_t rd64(struct vdev *v, unsigned int off)
{
	uint64_t lo = rd32(v, off), hi = rd32(v, off + 4);

	return lo | hi << 32;
}

static void wr32(struct vdev *v, unsigned int off, uint32_t val)
{
	*(volatile uint32_t *)(v->bar + off) = val;
}

static void wr64(struct vdev *v, unsigned int off, uint64_t val)
{
	wr32(v, off, (uint32_t)val);
	wr32(v, off + 4, (uint32_t)(val >> 32));
}

/* Keep-alive device feature.  Returns 0, or -errno (-ENOTTY: unsupported) */
static int ka_feature(struct vdev *v, uint32_t op,
		      struct vfio_device_feature_keep_alive *ka)
{
	uint64_t buf[8];
	struct vfio_device_feature *f = (void *)buf;

	memset(buf, 0, sizeof(buf));
	f->argsz = sizeof(*f) + sizeof(*ka);
	f->flags = op | VFIO_DEVICE_FEATURE_KEEP_ALIVE;
	if (op == VFIO_DEVICE_FEATURE_PROBE)
		f->flags |= VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET;
	if (op == VFIO_DEVICE_FEATURE_SET)
		memcpy(f->data, ka, sizeof(*ka));
	if (ioctl(v->device, VFIO_DEVICE_FEATURE, f))
		return -errno;
	if (op == VFIO_DEVICE_FEATURE_GET)
		memcpy(ka, f->data, sizeof(*ka));
	return 0;
}

/* Emit "keep_alive":{...}, or null if the kernel has no such feature */
static int js_keep_alive(struct vdev *v, const char *key)
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

static void js_sysview(struct sysview *sv, bool with_dev_config)
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

/* NVMe registers, if memory decode is on; returns the COMMAND register */
static uint16_t js_nvme_regs(struct vdev *v)
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
	cap = rd64(v, NVME_CAP);
	cc = rd32(v, NVME_CC);
	csts = rd32(v, NVME_CSTS);
	js_open("nvme");
	js_hex("cap", cap, 16);
	js_hex("vs", rd32(v, NVME_VS), 8);
	js_hex("cc", cc, 8);
	js_int("cc_en", cc & CC_EN);
	js_hex("csts", csts, 8);
	js_int("csts_rdy", !!(csts & CSTS_RDY));
	js_int("csts_cfs", !!(csts & CSTS_CFS));
	js_hex("aqa", rd32(v, NVME_AQA), 8);
	js_hex("asq", rd64(v, NVME_ASQ), 16);
	js_hex("acq", rd64(v, NVME_ACQ), 16);
	js_close();
	return cmd;
}

/* Everything "regs" prints for an open device, as object @key */
static void js_regs(struct vdev *v, struct sysview *sv, const char *key)
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

/* ------------------------------------------------------------------ */
/* Reserved memory and the admin queue                                */

struct mem {
	uint64_t phys;
	volatile uint8_t *virt;
	volatile struct probe_state *st;
};

static void mem_map(struct mem *m, const char *arg)
{
	char *end;
	void *p;
	int fd;

	errno = 0;
	m->phys = strtoull(arg, &end, 0);
	if (errno || *end || !m->phys)
		fail(EXIT_IO, "--mem: bad physical address \"%s\"", arg);
	if (m->phys & 0xfff)
		fail(EXIT_IO, "--mem 0x%" PRIx64 ": not 4 KiB aligned", m->phys);
	fd = open("/dev/mem", O_RDWR | O_SYNC);
	if (fd < 0)
		fail(EXIT_IO, "/dev/mem: %s", strerror(errno));
	p = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)m->phys);
	if (p == MAP_FAILED)
		fail(EXIT_IO, "/dev/mem: mmap 0x%x bytes at 0x%" PRIx64 ": %s",
		     MEM_SIZE, m->phys, strerror(errno));
	close(fd);
	m->virt = p;
	m->st = (volatile struct probe_state *)(m->virt + OFF_STATE);
}

struct queue {
	struct vdev *v;
	struct mem *m;
	uint32_t qsize, sq_tail, cq_head, phase, next_cid, stride;
};

static unsigned int ready_timeout(uint64_t cap)
{
	/* CAP.TO is in 500 ms units; TCG guests are slow, add slack */
	return timeout_ms ? timeout_ms : CAP_TO(cap) * 500 + 5000;
}

static void wait_rdy(struct vdev *v, uint64_t cap, bool want)
{
	uint64_t start = now_ms();
	unsigned int limit = ready_timeout(cap);
	uint32_t csts;

	for (;;) {
		csts = rd32(v, NVME_CSTS);
		if (csts == 0xffffffff)
			fail(EXIT_CHECK, "CSTS reads all ones: device gone");
		if (want && (csts & CSTS_CFS))
			fail(EXIT_CHECK, "CSTS.CFS=1 while enabling (CSTS 0x%x)",
			     csts);
		if (!!(csts & CSTS_RDY) == want)
			return;
		if (now_ms() - start > limit)
			fail(EXIT_CHECK,
			     "timeout after %u ms waiting for CSTS.RDY=%d (CSTS 0x%x)",
			     limit, want, csts);
		usleep(1000);
	}
}

/*
 * Submit Identify Controller on the admin queue at its current tail and wait
 * for its completion at the current head and phase.  Fills "identify".
 */
static void identify(struct queue *q, uint16_t vendor)
{
	volatile struct nvme_sqe *sqe;
	volatile struct nvme_cqe *cqe;
	volatile uint8_t *id = q->m->virt + OFF_ID;
	uint16_t cid = q->next_cid & 0xffff, status, vid, ssvid;
	unsigned int limit = timeout_ms ? timeout_ms : 10000;
	char sn[21], mn[41], fr[9];
	uint64_t start;
	int i;

	cqe = (volatile struct nvme_cqe *)(q->m->virt + OFF_CQ) + q->cq_head;
	if ((cqe->status & 1) == q->phase)
		fail(EXIT_CHECK,
		     "completion queue entry %u already has phase %u: unconsumed completion, queue state does not match",
		     q->cq_head, q->phase);

	for (i = 0; i < 4096; i++)
		id[i] = 0;

	sqe = (volatile struct nvme_sqe *)(q->m->virt + OFF_SQ) + q->sq_tail;
	memset((void *)sqe, 0, sizeof(*sqe));
	sqe->cdw0 = NVME_ADMIN_IDENTIFY | (uint32_t)cid << 16;
	sqe->nsid = 0;
	sqe->prp1 = q->m->phys + OFF_ID;
	sqe->cdw10 = NVME_ID_CNS_CTRL;
	__sync_synchronize();

	q->sq_tail = (q->sq_tail + 1) % q->qsize;
	wr32(q->v, NVME_DB, q->sq_tail);

	start = now_ms();
	while ((cqe->status & 1) != q->phase) {
		if (now_ms() - start > limit) {
			uint32_t csts = rd32(q->v, NVME_CSTS);

			fail(EXIT_CHECK,
			     "timeout after %u ms waiting for the Identify completion (CID %u, CQ head %u, phase %u, CSTS 0x%x)",
			     limit, cid, q->cq_head, q->phase, csts);
		}
		usleep(1000);
	}
	__sync_synchronize();
	status = cqe->status;

	js_open("identify");
	js_int("cid", cqe->cid);
	js_int("sqhd", cqe->sqhd);
	js_hex("status", status >> 1, 4);

	q->cq_head = (q->cq_head + 1) % q->qsize;
	if (q->cq_head == 0)
		q->phase ^= 1;
	wr32(q->v, NVME_DB + q->stride, q->cq_head);
	q->next_cid = (q->next_cid + 1) & 0xffff;

	if (cqe->cid != cid)
		fail(EXIT_CHECK, "completion CID %u, expected %u", cqe->cid,
		     cid);
	if (status >> 1)
		fail(EXIT_CHECK, "Identify failed: status 0x%x (SCT %u SC 0x%x)",
		     status >> 1, (status >> 9) & 7, (status >> 1) & 0xff);

	vid = id[0] | id[1] << 8;
	ssvid = id[2] | id[3] << 8;
	for (i = 0; i < 20; i++)
		sn[i] = id[4 + i];
	for (i = 0; i < 40; i++)
		mn[i] = id[24 + i];
	for (i = 0; i < 8; i++)
		fr[i] = id[64 + i];
	sn[20] = mn[40] = fr[8] = 0;
	for (i = 19; i >= 0 && (sn[i] == ' ' || !sn[i]); i--)
		sn[i] = 0;
	for (i = 39; i >= 0 && (mn[i] == ' ' || !mn[i]); i--)
		mn[i] = 0;
	for (i = 7; i >= 0 && (fr[i] == ' ' || !fr[i]); i--)
		fr[i] = 0;
	js_hex("vid", vid, 4);
	js_hex("ssvid", ssvid, 4);
	js_str("sn", sn);
	js_str("mn", mn);
	js_str("fr", fr);
	js_close();

	if (vid != vendor)
		fail(EXIT_CHECK,
		     "Identify VID 0x%04x does not match PCI vendor 0x%04x",
		     vid, vendor);
	if (!sn[0])
		fail(EXIT_CHECK, "Identify returned an empty serial number");
}

static void state_save(struct queue *q, uint32_t aqa, const char *bdf,
		       bool fresh)
{
	volatile struct probe_state *st = q->m->st;
	size_t i;

	if (fresh) {
		st->magic = 0;
		st->version = STATE_VERSION;
		st->asq = q->m->phys + OFF_SQ;
		st->acq = q->m->phys + OFF_CQ;
		st->idbuf = q->m->phys + OFF_ID;
		st->aqa = aqa;
		st->qsize = q->qsize;
		st->dstrd = q->stride;
		st->identify_count = 0;
		for (i = 0; i < sizeof(st->bdf); i++)
			st->bdf[i] = i < strlen(bdf) ? bdf[i] : 0;
	}
	st->sq_tail = q->sq_tail;
	st->cq_head = q->cq_head;
	st->phase = q->phase;
	st->next_cid = q->next_cid;
	st->identify_count++;
	__sync_synchronize();
	st->magic = STATE_MAGIC;
	__sync_synchronize();
}

static void js_state(const char *key, volatile struct probe_state *st)
{
	js_open(key);
	js_hex("asq", st->asq, 16);
	js_hex("acq", st->acq, 16);
	js_hex("aqa", st->aqa, 8);
	js_int("qsize", st->qsize);
	js_int("sq_tail", st->sq_tail);
	js_int("cq_head", st->cq_head);
	js_int("phase", st->phase);
	js_int("next_cid", st->next_cid);
	js_int("identify_count", st->identify_count);
	js_close();
}

/* ------------------------------------------------------------------ */
/* Subcommands                                                         */

static int cmd_regs(const char *bdf, bool no_open)
{
	struct sysview sv;
	struct vdev v;

	sysfs_lookup(bdf, &sv);
	js_bool("opened", !no_open);
	if (no_open) {
		/* Only sysfs: no VFIO open, so no reset and no D0 transition */
		js_sysview(&sv, true);
		js_bool("ok", true);
		return 0;
	}
	vfio_open(&v, bdf, &sv);
	js_nvme_regs(&v);
	js_keep_alive(&v, "keep_alive");
	sysfs_lookup(bdf, &sv);
	js_sysview(&sv, false);
	js_bool("ok", true);
	vfio_close(&v);
	return 0;
}

static int cmd_init(const char *bdf, const char *memarg, bool keep_alive)
{
	struct queue q = { 0 };
	struct sysview sv;
	struct mem m;
	struct vdev v;
	uint16_t cmd, vendor;
	uint32_t aqa, cc;
	uint64_t cap;

	mem_map(&m, memarg);
	js_hex("mem", m.phys, 1);
	sysfs_lookup(bdf, &sv);
	vfio_open(&v, bdf, &sv);

	vendor = cfg_read16(&v, 0x00);
	cmd = cfg_read16(&v, 0x04);
	js_hex("pci_command_at_open", cmd, 4);
	if ((cmd & 0x6) != 0x6)
		cfg_write16(&v, 0x04, cmd | 0x6); /* memory decode, bus master */
	bar_map(&v);

	cap = rd64(&v, NVME_CAP);
	if (!CAP_CSS_NVM(cap))
		fail(EXIT_CHECK, "CAP 0x%" PRIx64 ": NVM command set not supported",
		     cap);
	if (CAP_MPSMIN(cap) != 0)
		fail(EXIT_CHECK, "CAP 0x%" PRIx64 ": 4 KiB pages not supported",
		     cap);

	/* Firmware (SeaBIOS) may have left the controller enabled */
	cc = rd32(&v, NVME_CC);
	js_hex("cc_at_open", cc, 8);
	if (cc & CC_EN)
		wr32(&v, NVME_CC, cc & ~CC_EN);
	wait_rdy(&v, cap, false);

	q.v = &v;
	q.m = &m;
	q.qsize = CAP_MQES(cap) + 1 < QSIZE_MAX ? CAP_MQES(cap) + 1 : QSIZE_MAX;
	q.stride = 4u << CAP_DSTRD(cap);
	q.phase = 1;
	memset((void *)(m.virt + OFF_SQ), 0, 0x1000);
	memset((void *)(m.virt + OFF_CQ), 0, 0x1000);
	m.st->magic = 0;

	aqa = (q.qsize - 1) << 16 | (q.qsize - 1);
	wr32(&v, NVME_INTMS, 0xffffffff); /* polled: no pin interrupts */
	wr32(&v, NVME_AQA, aqa);
	wr64(&v, NVME_ASQ, m.phys + OFF_SQ);
	wr64(&v, NVME_ACQ, m.phys + OFF_CQ);
	wr32(&v, NVME_CC, CC_IOCQES(4) | CC_IOSQES(6) | CC_EN);
	wait_rdy(&v, cap, true);

	identify(&q, vendor);
	state_save(&q, aqa, v.bdf, true);
	js_state("state", m.st);

	if (keep_alive) {
		struct vfio_device_feature_keep_alive ka = { .enable = 1 };
		int ret = ka_feature(&v, VFIO_DEVICE_FEATURE_SET, &ka);

		if (ret)
			fail(ret == -ENOTTY ? EXIT_CHECK : EXIT_IO,
			     "%s: setting keep-alive: %s", bdf,
			     ret == -ENOTTY ? "kernel has no VFIO_DEVICE_FEATURE_KEEP_ALIVE" :
					      strerror(-ret));
	}
	js_regs(&v, &sv, "regs");
	js_bool("ok", true);
	vfio_close(&v);
	return 0;
}

static int cmd_identify_resume(const char *bdf, const char *memarg)
{
	volatile struct probe_state *st;
	struct queue q = { 0 };
	struct sysview sv;
	struct mem m;
	struct vdev v;
	uint32_t cc, csts, aqa;
	uint64_t cap, asq, acq;
	uint16_t cmd, vendor;

	mem_map(&m, memarg);
	js_hex("mem", m.phys, 1);
	st = m.st;
	if (st->magic != STATE_MAGIC || st->version != STATE_VERSION)
		fail(EXIT_CHECK,
		     "no saved state at 0x%" PRIx64 " (magic 0x%x): run init first",
		     m.phys + OFF_STATE, st->magic);
	if (strncmp((const char *)st->bdf, bdf, sizeof(st->bdf)))
		fail(EXIT_CHECK, "saved state is for %.16s, not %s",
		     (const char *)st->bdf, bdf);
	if (!st->qsize || st->qsize > QSIZE_MAX || st->sq_tail >= st->qsize ||
	    st->cq_head >= st->qsize || st->phase > 1)
		fail(EXIT_CHECK, "saved state is inconsistent");
	js_state("before", st);

	sysfs_lookup(bdf, &sv);
	vfio_open(&v, bdf, &sv);
	js_keep_alive(&v, "keep_alive");
	sysfs_lookup(bdf, &sv);
	js_sysview(&sv, false);

	vendor = cfg_read16(&v, 0x00);
	cmd = js_nvme_regs(&v);
	if (!(cmd & 0x2))
		fail(EXIT_CHECK, "PCI COMMAND 0x%04x: memory decode disabled",
		     cmd);
	cap = rd64(&v, NVME_CAP);
	cc = rd32(&v, NVME_CC);
	csts = rd32(&v, NVME_CSTS);
	aqa = rd32(&v, NVME_AQA);
	asq = rd64(&v, NVME_ASQ);
	acq = rd64(&v, NVME_ACQ);

	/* Check everything before trusting the queue; report all failures */
	if (!(cc & CC_EN))
		check_failed("CC 0x%08x: CC.EN=0, the controller was reset", cc);
	if (!(csts & CSTS_RDY) || (csts & CSTS_CFS))
		check_failed("CSTS 0x%08x: controller not ready (RDY=%u CFS=%u)",
			     csts, csts & CSTS_RDY, !!(csts & CSTS_CFS));
	if (aqa != st->aqa || asq != st->asq || acq != st->acq)
		check_failed("admin queue registers AQA 0x%x ASQ 0x%" PRIx64 " ACQ 0x%" PRIx64 " do not match the saved 0x%x 0x%" PRIx64 " 0x%" PRIx64,
			     aqa, asq, acq, st->aqa, st->asq, st->acq);
	if (4u << CAP_DSTRD(cap) != st->dstrd)
		check_failed("CAP.DSTRD changed: doorbell stride %u, saved %u",
			     4u << CAP_DSTRD(cap), st->dstrd);
	if (!(cmd & 0x4))
		check_failed("PCI COMMAND 0x%04x: bus master disabled, the device was quiesced",
			     cmd);
	checks_done();

	q.v = &v;
	q.m = &m;
	q.qsize = st->qsize;
	q.sq_tail = st->sq_tail;
	q.cq_head = st->cq_head;
	q.phase = st->phase;
	q.next_cid = st->next_cid;
	q.stride = st->dstrd;
	identify(&q, vendor);
	state_save(&q, aqa, v.bdf, false);
	js_state("after", st);
	js_bool("ok", true);
	vfio_close(&v);
	return 0;
}

static int cmd_feature(const char *bdf, const char *op, const char *val)
{
	struct vfio_device_feature_keep_alive ka = { 0 };
	struct sysview sv;
	struct vdev v;
	int ret;

	sysfs_lookup(bdf, &sv);
	vfio_open(&v, bdf, &sv);
	js_str("op", op);
	ret = ka_feature(&v, VFIO_DEVICE_FEATURE_PROBE, &ka);
	js_bool("supported", !ret);
	if (ret == -ENOTTY)
		fail(EXIT_CHECK, "%s: kernel has no VFIO_DEVICE_FEATURE_KEEP_ALIVE",
		     bdf);
	if (ret)
		fail(EXIT_IO, "%s: keep-alive PROBE: %s", bdf, strerror(-ret));
	if (!strcmp(op, "set")) {
		ka.enable = atoi(val);
		ka.flags = 0;
		ret = ka_feature(&v, VFIO_DEVICE_FEATURE_SET, &ka);
		if (ret)
			fail(EXIT_IO, "%s: keep-alive SET %u: %s", bdf,
			     ka.enable, strerror(-ret));
	}
	ret = ka_feature(&v, VFIO_DEVICE_FEATURE_GET, &ka);
	if (ret)
		fail(EXIT_IO, "%s: keep-alive GET: %s", bdf, strerror(-ret));
	js_int("enable", ka.enable);
	js_hex("flags", ka.flags, 1);
	js_int("restored", !!(ka.flags & VFIO_DEVICE_KEEP_ALIVE_RESTORED));
	js_bool("ok", true);
	vfio_close(&v);
	return 0;
}

static int cmd_close_reopen(const char *bdf)
{
	struct sysview sv;
	struct vdev v;

	sysfs_lookup(bdf, &sv);
	vfio_open(&v, bdf, &sv);
	js_regs(&v, &sv, "first");
	vfio_close(&v);

	sysfs_lookup(bdf, &sv);
	vfio_open(&v, bdf, &sv);
	js_regs(&v, &sv, "second");
	vfio_close(&v);
	js_bool("ok", true);
	return 0;
}

static void __attribute__((noreturn)) usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "vfio_nvme_probe: %s\n", msg);
	fprintf(stderr,
		"usage: vfio_nvme_probe [--timeout-ms N] COMMAND ...\n"
		"  regs BDF [--no-open]\n"
		"  init BDF --mem PHYS [--keep-alive]\n"
		"  identify-resume BDF --mem PHYS\n"
		"  feature BDF get|set 0|1\n"
		"  close-reopen BDF\n"
		"BDF is DDDD:BB:DD.F; PHYS a page-aligned physical address of %u reserved bytes.\n"
		"Prints one JSON object per run; exit 0 ok, 1 check failed, 2 usage/I/O error.\n",
		MEM_SIZE);
	if (js.depth == 0 && js.len == 0)
		js_open(NULL);
	js_bool("ok", false);
	js_str("error", msg ? msg : "usage");
	js_int("exit", EXIT_IO);
	js_print();
	exit(EXIT_IO);
}

int main(int argc, char **argv)
{
	const char *cmd, *mem = NULL, *args[3] = { NULL };
	bool no_open = false, keep_alive = false;
	char bdf[32];
	int nargs = 0, i, ret;

	signal(SIGBUS, sigbus_handler);
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
			timeout_ms = strtoul(argv[++i], NULL, 0);
		else
			usage("unknown option before the command");
	}
	if (i >= argc)
		usage("missing command");
	cmd = argv[i++];
	js_open(NULL);
	js_str("cmd", cmd);

	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--mem") && i + 1 < argc)
			mem = argv[++i];
		else if (!strcmp(argv[i], "--keep-alive"))
			keep_alive = true;
		else if (!strcmp(argv[i], "--no-open"))
			no_open = true;
		else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
			timeout_ms = strtoul(argv[++i], NULL, 0);
		else if (!strncmp(argv[i], "--", 2))
			usage("unknown option");
		else if (nargs < 3)
			args[nargs++] = argv[i];
		else
			usage("too many arguments");
	}
	if (nargs < 1)
		usage("missing BDF");
	if (!parse_bdf(args[0], bdf, sizeof(bdf)))
		usage("BDF must look like 0000:01:00.0");
	js_str("bdf", bdf);

	if (!strcmp(cmd, "regs")) {
		if (nargs != 1 || mem || keep_alive)
			usage("regs takes BDF [--no-open]");
		ret = cmd_regs(bdf, no_open);
	} else if (!strcmp(cmd, "init")) {
		if (nargs != 1 || !mem || no_open)
			usage("init takes BDF --mem PHYS [--keep-alive]");
		ret = cmd_init(bdf, mem, keep_alive);
	} else if (!strcmp(cmd, "identify-resume")) {
		if (nargs != 1 || !mem || no_open || keep_alive)
			usage("identify-resume takes BDF --mem PHYS");
		ret = cmd_identify_resume(bdf, mem);
	} else if (!strcmp(cmd, "feature")) {
		if (mem || no_open || keep_alive || nargs < 2 ||
		    (!strcmp(args[1], "get") && nargs != 2) ||
		    (!strcmp(args[1], "set") &&
		     (nargs != 3 || (strcmp(args[2], "0") && strcmp(args[2], "1")))) ||
		    (strcmp(args[1], "get") && strcmp(args[1], "set")))
			usage("feature takes BDF get | BDF set 0|1");
		ret = cmd_feature(bdf, args[1], args[2]);
	} else if (!strcmp(cmd, "close-reopen")) {
		if (nargs != 1 || mem || no_open || keep_alive)
			usage("close-reopen takes BDF");
		ret = cmd_close_reopen(bdf);
	} else {
		usage("unknown command");
	}
	js_print();
	return ret;
}

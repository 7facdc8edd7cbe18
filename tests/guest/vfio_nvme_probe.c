// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_nvme_probe - drive an NVMe controller from userspace through VFIO in
 * no-IOMMU mode, to check that the controller and its admin queue survive
 * closing the device and a kexec reboot (the vfio-pci keep-alive patches).
 *
 * Runs inside the test guest (busybox, static binary); built by the
 * top-level Makefile from this file, vfio_nvme_dev.c, vfio_nvme_queue.c
 * and libpdma.
 *
 * Every subcommand prints exactly one JSON object on one line on stdout.
 * Exit status: 0 all checks passed, 1 a check failed, 2 usage or I/O error.
 * Errors are also written to stderr, prefixed with "vfio_nvme_probe: ".
 *
 * The admin queues, the Identify buffer and a state block live in memory
 * the next kernel does not use.  With no IOMMU, device DMA addresses are
 * physical addresses.  Two sources (MEM below):
 *   --pdma NAME  a pdma buffer of at least MEM_SIZE bytes, claimed by name
 *                (init allocates it if it does not exist); this is what the
 *                tests use, and after kexec the pdma module hands the same
 *                buffer back.  The pdma module maps its range write-back.
 *   --mem PHYS   raw: PHYS (page aligned) in a memmap= range, through
 *                /dev/mem.  Not O_SYNC: with the pdma module loaded the
 *                range is mapped write-back, and x86 PAT refuses an
 *                uncached mapping of it.
 * Layout from the start of MEM:
 *   + 0x0000  admin submission queue (QSIZE_MAX entries of 64 bytes)
 *   + 0x1000  admin completion queue (QSIZE_MAX entries of 16 bytes)
 *   + 0x2000  Identify Controller data (4096 bytes)
 *   + 0x3000  state block (struct probe_state)
 *
 * Subcommands (BDF is DDDD:BB:DD.F; "--timeout-ms N" overrides the waits):
 *   regs BDF [--no-open]
 *   init BDF MEM [--keep-alive]
 *   identify-resume BDF MEM
 *   feature BDF get | feature BDF set 0|1 [--drop-cap-sys-rawio] [--pf PF]
 *   feature-bad BDF         malformed keep-alive feature calls
 *   close-reopen BDF
 *   start BDF [--keep-alive] [--msix], hold BDF SECONDS  (vfio_nvme_ka.c)
 * identify-resume --irq arms MSI-X vector 0 (VFIO_DEVICE_SET_IRQS eventfd)
 * and, after its Identify, creates an I/O queue pair on that vector and
 * counts the interrupts of a Flush on it ("irq"; see io_irq_check()).
 * feature --drop-cap-sys-rawio drops CAP_SYS_RAWIO after the open;
 * feature --pf PF opens PF first and sets its VF token, so that BDF, a VF
 * of PF, can be opened.  A refused SET reports "set_errno" and exits 1.
 *
 * JSON keys (registers are "0x..." hex strings, bits are 0/1 numbers):
 *   always         "cmd", "bdf", "ok" (true/false); on failure "error"
 *                  (the reason, also on stderr) and "exit" (1 or 2)
 *   sysfs view     "driver", "power_state", "sysfs_keep_alive" (null if
 *                  the kernel has no such attribute), "bridge" (upstream
 *                  bridge BDF or null), "bridge_power_state",
 *                  "bridge_command", "bridge_mem", "bridge_bme"
 *   opened device  "pci_command", "pci_mem", "pci_bme" (through the VFIO
 *                  config region; through sysfs with --no-open),
 *                  "nvme": {"cap", "vs", "cc", "cc_en", "csts", "csts_rdy",
 *                  "csts_cfs", "aqa", "asq", "acq"} (null when memory
 *                  decode is off), "keep_alive": {"enable", "flags",
 *                  "restored"} (null if the kernel has no such feature)
 *   regs           "opened" plus the views above
 *   init           "mem" (phys), "pdma" (name or null),
 *                  "pci_command_at_open", "cc_at_open", "identify",
 *                  "state", "regs" (object, as for regs)
 *   identify-resume "mem", "pdma", "before" (saved state), "keep_alive",
 *                  sysfs view, opened-device view, "identify", "after"
 *   feature        "op", "supported", "enable", "flags", "restored"
 *   feature-bad    "errno": {case: "OK" or the errno name, e.g. "EINVAL"}
 *                  for a SET enable=1 then each malformed call, and
 *                  "after": {"enable", "flags"} from a final GET (leaves
 *                  the device kept alive)
 *   close-reopen   "first", "second" (objects, as for regs)
 *   "identify": {"cid", "sqhd", "phase" (of the completion), "status",
 *                  "vid", "ssvid", "sn", "mn", "fr"}
 *   "state"/"before"/"after": {"asq", "acq", "aqa", "qsize", "sq_tail",
 *                  "cq_head", "phase", "next_cid", "identify_count"}
 */
#include "vfio_nvme.h"

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

static int cmd_init(const char *bdf, const struct memarg *memarg,
		    bool keep_alive)
{
	struct queue q = { 0 };
	struct sysview sv;
	struct mem m;
	struct vdev v;
	uint16_t cmd, vendor;
	uint32_t aqa, cc;
	uint64_t cap;

	mem_map(&m, memarg, true);
	sysfs_lookup(bdf, &sv);
	vfio_open(&v, bdf, &sv);

	vendor = cfg_read16(&v, 0x00);
	cmd = cfg_read16(&v, 0x04);
	js_hex("pci_command_at_open", cmd, 4);
	if ((cmd & 0x6) != 0x6)
		cfg_write16(&v, 0x04, cmd | 0x6); /* memory decode, bus master */
	bar_map(&v);

	cap = rd64(&v, NVME_REG_CAP);
	if (!NVME_CAP_CSS_NVM(cap))
		fail(EXIT_CHECK, "CAP 0x%" PRIx64 ": NVM command set not supported",
		     cap);
	if (NVME_CAP_MPSMIN(cap) != 0)
		fail(EXIT_CHECK, "CAP 0x%" PRIx64 ": 4 KiB pages not supported",
		     cap);

	/* Firmware (SeaBIOS) may have left the controller enabled */
	cc = rd32(&v, NVME_REG_CC);
	js_hex("cc_at_open", cc, 8);
	if (cc & NVME_CC_EN)
		wr32(&v, NVME_REG_CC, cc & ~NVME_CC_EN);
	wait_rdy(&v, cap, false);

	q.v = &v;
	q.m = &m;
	q.qsize = NVME_CAP_MQES(cap) + 1;
	if (q.qsize > QSIZE_MAX)
		q.qsize = QSIZE_MAX;
	q.stride = 4u << NVME_CAP_DSTRD(cap);
	q.phase = 1;
	memset((void *)(m.virt + OFF_SQ), 0, 0x1000);
	memset((void *)(m.virt + OFF_CQ), 0, 0x1000);
	m.st->magic = 0;

	aqa = (q.qsize - 1) << 16 | (q.qsize - 1);
	wr32(&v, NVME_REG_INTMS, 0xffffffff); /* polled: no pin interrupts */
	wr32(&v, NVME_REG_AQA, aqa);
	wr64(&v, NVME_REG_ASQ, m.phys + OFF_SQ);
	wr64(&v, NVME_REG_ACQ, m.phys + OFF_CQ);
	wr32(&v, NVME_REG_CC, NVME_CC_IOCQES(4) | NVME_CC_IOSQES(6) | NVME_CC_EN);
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

static int cmd_identify_resume(const char *bdf, const struct memarg *memarg,
			       bool irq)
{
	volatile struct probe_state *st;
	struct queue q = { 0 };
	struct sysview sv;
	struct mem m;
	struct vdev v;
	int efd = -1;
	uint32_t cc, csts, aqa;
	uint64_t cap, asq, acq;
	uint16_t cmd, vendor;

	mem_map(&m, memarg, false);
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
	cap = rd64(&v, NVME_REG_CAP);
	cc = rd32(&v, NVME_REG_CC);
	csts = rd32(&v, NVME_REG_CSTS);
	aqa = rd32(&v, NVME_REG_AQA);
	asq = rd64(&v, NVME_REG_ASQ);
	acq = rd64(&v, NVME_REG_ACQ);

	/* Check everything before trusting the queue; report all failures */
	if (!(cc & NVME_CC_EN))
		check_failed("CC 0x%08x: CC.EN=0, the controller was reset", cc);
	if (!(csts & NVME_CSTS_RDY) || (csts & NVME_CSTS_CFS))
		check_failed("CSTS 0x%08x: controller not ready (RDY=%u CFS=%u)",
			     csts, csts & NVME_CSTS_RDY, !!(csts & NVME_CSTS_CFS));
	if (aqa != st->aqa || asq != st->asq || acq != st->acq)
		check_failed("admin queue registers AQA 0x%x ASQ 0x%" PRIx64 " ACQ 0x%" PRIx64 " do not match the saved 0x%x 0x%" PRIx64 " 0x%" PRIx64,
			     aqa, asq, acq, st->aqa, st->asq, st->acq);
	if (4u << NVME_CAP_DSTRD(cap) != st->dstrd)
		check_failed("CAP.DSTRD changed: doorbell stride %u, saved %u",
			     4u << NVME_CAP_DSTRD(cap), st->dstrd);
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
	if (irq)
		efd = msix_arm(&v);
	identify(&q, vendor);
	state_save(&q, aqa, v.bdf, false);
	js_state("after", st);
	if (irq) {
		io_irq_check(&q, efd);
		state_save(&q, aqa, v.bdf, false);
	}
	js_bool("ok", true);
	vfio_close(&v);
	return 0;
}

static int cmd_feature(const char *bdf, const char *op, const char *val,
		       const char *pf, bool no_rawio)
{
	struct vfio_device_feature_keep_alive ka = { 0 };
	struct sysview sv;
	struct vdev v, pfv;
	int ret;

	if (pf)
		set_vf_token(pf, &pfv);
	sysfs_lookup(bdf, &sv);
	vfio_open(&v, bdf, &sv);
	js_str("iommu", v.iommu);
	if (no_rawio)
		drop_cap_sys_rawio();
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
		js_str("set_errno", ret ? strerrorname_np(-ret) : "OK");
		if (ret)
			fail(EXIT_CHECK, "%s: keep-alive SET %u: %s", bdf,
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

/*
 * Malformed keep-alive feature calls, each reported as "OK" or its errno
 * name, then a GET: none of them may have changed the flag.  The first,
 * "set_1", is the well-formed SET the others are variants of; the bad ones
 * that carry enable=0 would clear the flag if they were taken as a SET.
 */
#define FKA VFIO_DEVICE_FEATURE_KEEP_ALIVE
#define FGET VFIO_DEVICE_FEATURE_GET
#define FSET VFIO_DEVICE_FEATURE_SET
#define HDR ((uint32_t)sizeof(struct vfio_device_feature))

static int cmd_feature_bad(const char *bdf)
{
	static const struct {
		const char *key;
		uint32_t flags, argsz, enable, kflags;
	} cases[] = {
		{ "set_1", FKA | FSET, HDR + 8, 1, 0 },
		{ "no_op", FKA, HDR + 8, 0, 0 },
		{ "get_and_set", FKA | FGET | FSET, HDR + 8, 0, 0 },
		{ "get_short_argsz", FKA | FGET, HDR + 4, 0, 0 },
		{ "set_short_argsz", FKA | FSET, HDR + 4, 0, 0 },
		{ "set_no_payload", FKA | FSET, HDR, 0, 0 },
		{ "set_enable_2", FKA | FSET, HDR + 8, 2, 0 },
		{ "set_enable_max", FKA | FSET, HDR + 8, 0xffffffff, 0 },
		{ "set_flags_restored", FKA | FSET, HDR + 8, 1,
		  VFIO_DEVICE_KEEP_ALIVE_RESTORED },
		{ "set_flags_unknown", FKA | FSET, HDR + 8, 0, 0x80000000 },
	};
	struct vfio_device_feature_keep_alive ka;
	struct sysview sv;
	struct vdev v;
	size_t i;
	int ret;

	sysfs_lookup(bdf, &sv);
	vfio_open(&v, bdf, &sv);
	js_open("errno");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ka.enable = cases[i].enable;
		ka.flags = cases[i].kflags;
		ret = feature_raw(&v, cases[i].flags, cases[i].argsz, &ka,
				  sizeof(ka));
		js_str(cases[i].key, ret ? strerrorname_np(-ret) : "OK");
	}
	js_close();
	ret = ka_feature(&v, VFIO_DEVICE_FEATURE_GET, &ka);
	if (ret)
		fail(EXIT_IO, "%s: keep-alive GET: %s", bdf, strerror(-ret));
	js_open("after");
	js_int("enable", ka.enable);
	js_hex("flags", ka.flags, 1);
	js_close();
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
		"  init BDF MEM [--keep-alive]\n"
		"  identify-resume BDF MEM\n"
		"  feature BDF get|set 0|1\n"
		"  feature-bad BDF\n"
		"  close-reopen BDF\n"
		"BDF is DDDD:BB:DD.F; MEM is --pdma NAME (a pdma buffer) or --mem PHYS\n"
		"(a page-aligned physical address of %u reserved bytes).\n"
		"Prints one JSON object per run; exit 0 ok, 1 check failed, 2 usage/I/O error.\n",
		MEM_SIZE);
	if (js_empty())
		js_open(NULL);
	js_bool("ok", false);
	js_str("error", msg ? msg : "usage");
	js_int("exit", EXIT_IO);
	js_print();
	exit(EXIT_IO);
}

int main(int argc, char **argv)
{
	const char *cmd, *args[3] = { NULL };
	struct memarg mem = { NULL, NULL };
	bool no_open = false, keep_alive = false, has_mem;
	bool irq = false, msix = false, no_rawio = false;
	const char *pf = NULL;
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
			mem.phys = argv[++i];
		else if (!strcmp(argv[i], "--pdma") && i + 1 < argc)
			mem.pdma = argv[++i];
		else if (!strcmp(argv[i], "--keep-alive"))
			keep_alive = true;
		else if (!strcmp(argv[i], "--no-open"))
			no_open = true;
		else if (!strcmp(argv[i], "--irq"))
			irq = true;
		else if (!strcmp(argv[i], "--msix"))
			msix = true;
		else if (!strcmp(argv[i], "--drop-cap-sys-rawio"))
			no_rawio = true;
		else if (!strcmp(argv[i], "--pf") && i + 1 < argc)
			pf = argv[++i];
		else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
			timeout_ms = strtoul(argv[++i], NULL, 0);
		else if (!strncmp(argv[i], "--", 2))
			usage("unknown option");
		else if (nargs < 3)
			args[nargs++] = argv[i];
		else
			usage("too many arguments");
	}
	if (mem.phys && mem.pdma)
		usage("--mem and --pdma are exclusive");
	has_mem = mem.phys || mem.pdma;
	if (nargs < 1)
		usage("missing BDF");
	if (!parse_bdf(args[0], bdf, sizeof(bdf)))
		usage("BDF must look like 0000:01:00.0");
	js_str("bdf", bdf);

	if (!strcmp(cmd, "regs")) {
		if (nargs != 1 || has_mem || keep_alive)
			usage("regs takes BDF [--no-open]");
		ret = cmd_regs(bdf, no_open);
	} else if (!strcmp(cmd, "init")) {
		if (nargs != 1 || !has_mem || no_open)
			usage("init takes BDF --pdma NAME|--mem PHYS [--keep-alive]");
		ret = cmd_init(bdf, &mem, keep_alive);
	} else if (!strcmp(cmd, "identify-resume")) {
		if (nargs != 1 || !has_mem || no_open || keep_alive)
			usage("identify-resume takes BDF --pdma NAME|--mem PHYS");
		ret = cmd_identify_resume(bdf, &mem, irq);
	} else if (!strcmp(cmd, "feature")) {
		if (has_mem || no_open || keep_alive || nargs < 2 ||
		    (!strcmp(args[1], "get") && nargs != 2) ||
		    (!strcmp(args[1], "set") &&
		     (nargs != 3 || (strcmp(args[2], "0") && strcmp(args[2], "1")))) ||
		    (strcmp(args[1], "get") && strcmp(args[1], "set")))
			usage("feature takes BDF get | BDF set 0|1");
		ret = cmd_feature(bdf, args[1], args[2], pf, no_rawio);
	} else if (!strcmp(cmd, "feature-bad")) {
		if (nargs != 1 || has_mem || no_open || keep_alive)
			usage("feature-bad takes BDF");
		ret = cmd_feature_bad(bdf);
	} else if (!strcmp(cmd, "start")) {
		if (nargs != 1 || has_mem || no_open)
			usage("start takes BDF [--keep-alive] [--msix]");
		ret = cmd_start(bdf, keep_alive, msix);
	} else if (!strcmp(cmd, "hold")) {
		if (nargs != 2 || has_mem || no_open || keep_alive)
			usage("hold takes BDF SECONDS");
		cmd_hold(bdf, strtoul(args[1], NULL, 0));
	} else if (!strcmp(cmd, "close-reopen")) {
		if (nargs != 1 || has_mem || no_open || keep_alive)
			usage("close-reopen takes BDF");
		ret = cmd_close_reopen(bdf);
	} else {
		usage("unknown command");
	}
	js_print();
	return ret;
}

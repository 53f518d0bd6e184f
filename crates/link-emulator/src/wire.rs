//! Whole Ethernet frames in and out of one interface through AF_PACKET raw sockets.
//!
//! The emulator is a cable, not a router: it sits between two interfaces that have no address
//! (in a namespace of its own) and copies every frame, ARP and all, from one to the other. The
//! hosts on either side see one Ethernet segment and need no routes or configuration for it.
//!
//! The kernel must hand over frames as they are on the wire: with checksum offload a frame read
//! here can carry a checksum still to be filled in, and with GSO/GRO one "frame" can be 64 KiB.
//! The caller turns those offloads off on the veths involved (`ethtool -K IF tx off tso off gso
//! off gro off`; the lab does). A frame larger than the buffer is counted, not forwarded.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::mem::{size_of, size_of_val, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Frames up to this size are read whole (a 1500-byte MTU plus header and VLAN tag, with room).
pub const MAX_FRAME: usize = 9216;

/// Why a socket could not be set up; each says what to check.
#[derive(Debug)]
pub enum WireError {
    NoSuchInterface(String),
    Socket(io::Error),
    Option { what: &'static str, err: io::Error },
    Bind { ifname: String, err: io::Error },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::NoSuchInterface(n) => write!(
                f,
                "no interface {n:?} in this network namespace: run the emulator with `ip netns exec NS` where both interfaces are"
            ),
            WireError::Socket(e) => write!(
                f,
                "cannot open an AF_PACKET socket ({e}): the emulator needs root (CAP_NET_RAW)"
            ),
            WireError::Option { what, err } => write!(f, "cannot set {what} on a packet socket: {err}"),
            WireError::Bind { ifname, err } => write!(f, "cannot bind to {ifname}: {err}"),
        }
    }
}

impl std::error::Error for WireError {}

/// One packet socket bound to one interface: for receiving (every frame arriving there) or for
/// sending (receives nothing).
pub struct Port {
    fd: OwnedFd,
}

impl Port {
    /// A receiving port on `ifname`: promiscuous (frames for the hosts beyond us carry their MAC,
    /// not ours), blind to frames this host sends there, with a 4 MiB buffer so bursts wait here
    /// rather than vanish before the link model sees them.
    pub fn receiver(ifname: &str) -> Result<Port, WireError> {
        let (port, ifindex) = Port::open(ifname, (libc::ETH_P_ALL as u16).to_be())?;
        let mreq = libc::packet_mreq {
            mr_ifindex: ifindex,
            mr_type: libc::PACKET_MR_PROMISC as u16,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        port.set(libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq, "promiscuous mode")?;
        port.set(libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, &1i32, "PACKET_IGNORE_OUTGOING")?;
        port.set(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &(4i32 << 20), "SO_RCVBUFFORCE")?;
        port.set(libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &1i32, "SO_TIMESTAMPNS")?;
        Ok(port)
    }

    /// A sending port on `ifname` (protocol 0: the kernel delivers nothing to it).
    pub fn sender(ifname: &str) -> Result<Port, WireError> {
        let (port, _) = Port::open(ifname, 0)?;
        port.set(libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, &(4i32 << 20), "SO_SNDBUFFORCE")?;
        Ok(port)
    }

    fn open(ifname: &str, protocol_be: u16) -> Result<(Port, i32), WireError> {
        let name = CString::new(ifname).map_err(|_| WireError::NoSuchInterface(ifname.into()))?;
        // SAFETY: a plain C call on a valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) } as i32;
        if ifindex == 0 {
            return Err(WireError::NoSuchInterface(ifname.into()));
        }
        // SAFETY: socket(2) has no memory arguments; the result is checked before use.
        let fd =
            unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, protocol_be as i32) };
        if fd < 0 {
            return Err(WireError::Socket(io::Error::last_os_error()));
        }
        // SAFETY: fd was just returned by socket(2) and is owned by nothing else.
        let port = Port { fd: unsafe { OwnedFd::from_raw_fd(fd) } };
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid start.
        let mut addr: libc::sockaddr_ll = unsafe { zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = protocol_be;
        addr.sll_ifindex = ifindex;
        // SAFETY: addr is a valid sockaddr_ll and its size is passed.
        let rc = unsafe {
            libc::bind(
                fd,
                &addr as *const libc::sockaddr_ll as *const libc::sockaddr,
                size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            return Err(WireError::Bind { ifname: ifname.into(), err });
        }
        Ok((port, ifindex))
    }

    fn set<T>(&self, level: i32, name: i32, value: &T, what: &'static str) -> Result<(), WireError> {
        // SAFETY: value points at a live T whose size is passed.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                value as *const T as *const libc::c_void,
                size_of::<T>() as u32,
            )
        };
        if rc < 0 {
            return Err(WireError::Option { what, err: io::Error::last_os_error() });
        }
        Ok(())
    }

    /// The next frame waiting, without blocking: `Ok(Some((len, at)))` with the frame in `buf`
    /// (its real length, which exceeds `buf.len()` when it was cut short) and when the kernel
    /// received it (CLOCK_REALTIME, ns; `None` if it gave no timestamp), `Ok(None)` if none waits.
    ///
    /// The kernel's time matters when this thread was late to read: frames that arrived spaced
    /// out must not leave as one burst because they were read in one batch.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, Option<u64>)>> {
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr() as *mut libc::c_void, iov_len: buf.len() };
        // u64 elements keep the control buffer aligned for cmsghdr.
        let mut control = [0u64; 8];
        // SAFETY: msghdr is plain data; every pointer set below outlives the call.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = size_of_val(&control);
        // SAFETY: msg describes live buffers; MSG_TRUNC makes the result the frame's length.
        let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT | libc::MSG_TRUNC) };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(err),
            };
        }
        let mut at = None;
        // SAFETY: the CMSG macros walk the control buffer the kernel filled, within controllen.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                    let ts = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::timespec);
                    at = Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64);
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        Ok(Some((n as usize, at)))
    }

    /// Sends one whole frame out of the interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: frame is valid for frame.len() bytes.
        let n =
            unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr() as *const libc::c_void, frame.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Frames the kernel dropped before this socket read them (its buffer was full) since the
    /// last call: PACKET_STATISTICS resets on read.
    pub fn kernel_drops(&self) -> u64 {
        // SAFETY: tpacket_stats is plain data, and its size is passed in len.
        let mut stats: libc::tpacket_stats = unsafe { zeroed() };
        let mut len = size_of::<libc::tpacket_stats>() as u32;
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                &mut stats as *mut libc::tpacket_stats as *mut libc::c_void,
                &mut len,
            )
        };
        if rc < 0 {
            0
        } else {
            stats.tp_drops as u64
        }
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Waits until `port` has a frame or `timeout_ns` passed, at nanosecond precision (ppoll), so
/// departures can be paced far finer than a millisecond.
pub fn wait_readable(port: &Port, timeout_ns: u64) -> io::Result<bool> {
    let mut pfd = libc::pollfd { fd: port.raw_fd(), events: libc::POLLIN, revents: 0 };
    let ts = libc::timespec {
        tv_sec: (timeout_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (timeout_ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: pfd and ts are live for the call; a null sigmask leaves the mask as it is.
    let rc = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(err);
    }
    Ok(rc > 0 && pfd.revents & libc::POLLIN != 0)
}

/// CLOCK_REALTIME now, ns: the clock of the kernel's receive timestamps.
pub fn realtime_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

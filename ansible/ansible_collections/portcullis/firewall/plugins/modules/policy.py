#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 The portcullis developers
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The host side of portcullis.firewall.policy: check, diff, apply --no-wait, confirm.

The controller side (plugins/action/policy.py) runs this module once to apply, then resets
the connection and runs it again over a new one to confirm; a host that cannot be reached
again rolls back by itself at the deadline (portcullis's guard).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: policy
short_description: Apply a portcullis firewall policy with an automatic rollback
description:
  - Validates a portcullis policy (TOML) on the host, shows how the live nftables table
    differs from it, and applies it with C(portcullis apply --no-wait), which leaves a
    guard on the host that rolls the change back at the deadline unless it is confirmed.
  - The controller then drops its connection and confirms over a B(new) one (the host
    accepts the confirm only from a login that started after the apply), so a policy that
    blocks new connections, SSH included, rolls itself back and the task fails saying so.
  - Idempotent. When C(portcullis diff) says the live table already matches, nothing is
    applied and the task is C(ok).
  - Check mode shows the diff and changes nothing; diff mode shows it as a unified diff of
    the nft rules.
version_added: "0.1.0"
author: The portcullis developers
options:
  state:
    description: C(applied) makes the live table match the policy.
    type: str
    choices: [applied]
    default: applied
  policy:
    description: The policy, as TOML text. Exactly one of O(policy) and O(src).
    type: str
  src:
    description:
      - A policy file on the controller (looked up like the copy module's C(src), in a
        role's C(files/) too). Exactly one of O(policy) and O(src).
    type: path
  dest:
    description: Where the host keeps its policy; written only once the change is confirmed.
    type: path
    default: /etc/portcullis/policy.toml
  confirm_timeout:
    description:
      - How long the host waits for the confirm before it rolls back, as portcullis reads
        durations (V(30s), V(2m)) or a number of seconds. It must cover a new SSH
        connection and a module run (a few seconds).
    type: str
    default: 30s
  table:
    description:
      - The nftables table (C(inet NAME)) the policy must own. If the policy names no
        table, this one is set; if it names another, the task fails.
    type: str
  allow_lockout:
    description:
      - Apply even if portcullis sees that the policy drops new connections from this SSH
        client. The rollback still saves the host; the task then fails at the confirm.
    type: bool
    default: false
  executable:
    description: The portcullis binary on the host.
    type: path
    default: portcullis
  state_dir:
    description: portcullis's state directory on the host (its default when unset).
    type: path
notes:
  - Needs root on the host (C(become=true)).
  - Use it with O(ansible.builtin.play#keyword:serial) to roll a change across a fleet a
    few hosts at a time; see the collection's README and C(playbooks/rolling.yml).
"""

EXAMPLES = r"""
- name: Firewall from the role's files/policy.toml
  portcullis.firewall.policy:
    src: policy.toml
    confirm_timeout: 45s
  become: true

- name: Inline policy
  portcullis.firewall.policy:
    policy: |
      [networks]
      admin = ["192.0.2.0/24"]

      [services.ssh]
      ports = ["22/tcp"]
      allow = ["admin"]
  become: true
"""

RETURN = r"""
commit:
  description: The id of the commit that was applied (absent when nothing changed).
  type: str
  returned: changed
outcome:
  description: V(unchanged), V(would-change) (check mode), V(confirmed), or V(rolled-back).
  type: str
  returned: always
diff_text:
  description: portcullis's diff of the live table against the policy.
  type: str
  returned: always
"""

import json
import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule


def run(module, args, check=False):
    """Runs portcullis with the module's global options; returns (rc, stdout, stderr)."""
    cmd = [module.params["executable"]]
    if module.params.get("state_dir"):
        cmd += ["--state-dir", module.params["state_dir"]]
    rc, out, err = module.run_command(cmd + args, check_rc=False)
    if check and rc != 0:
        module.fail_json(
            msg="portcullis %s failed (exit %d): %s" % (" ".join(args), rc, (err or out).strip()),
            rc=rc,
            stdout=out,
            stderr=err,
        )
    return rc, out, err


def pending_path(module):
    return module.params["dest"] + ".pending"


def with_table(module, text):
    """The policy with [settings] table set to the table option, or a failure if it names
    another. Reads the TOML with tomllib (Python 3.11+)."""
    table = module.params.get("table")
    if not table:
        return text
    try:
        import tomllib
    except ImportError:
        module.fail_json(msg="the table option needs Python 3.11 (tomllib) on the host")
    try:
        named = tomllib.loads(text).get("settings", {}).get("table")
    except Exception as e:  # the validator says it better; let check report it
        named = None
        del e
    if named == table:
        return text
    if named is not None:
        module.fail_json(msg="the policy owns table %r, but table is %r" % (named, table))
    line = 'table = "%s"' % table
    header = re.compile(r"^\[settings\][ \t]*(#.*)?$", re.M)
    if header.search(text):
        return header.sub(lambda m: m.group(0) + "\n" + line, text, count=1)
    return "[settings]\n%s\n\n%s" % (line, text)


def write_private(path, text):
    """Writes text to path atomically, readable by root only."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".portcullis-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def status(module):
    rc, out, err = run(module, ["status", "--json"])
    if rc != 0:
        return None
    try:
        return json.loads(out)
    except ValueError:
        return None


def phase_apply(module):
    text = with_table(module, module.params["policy"])
    dest = module.params["dest"]
    pending = pending_path(module)
    try:
        write_private(pending, text)
    except (IOError, OSError) as e:
        module.fail_json(msg="cannot write the policy beside %s: %s; nothing changed" % (dest, e))
    rc, out, err = run(module, ["--policy", pending, "check"])
    if rc != 0:
        os.unlink(pending)
        module.fail_json(msg="the policy is invalid:\n%s" % (err or out).strip(), rc=rc)
    rc, diff, err = run(module, ["--policy", pending, "diff"])
    if rc not in (0, 1):
        os.unlink(pending)
        module.fail_json(msg="portcullis diff failed: %s" % (err or diff).strip(), rc=rc)
    file_differs = read(dest) != text
    result = dict(changed=False, outcome="unchanged", diff_text=diff)
    if module._diff and (rc == 1 or file_differs):
        result["diff"] = dict(prepared=diff if rc == 1 else "")
    if rc == 0:
        # The live table matches: at most the host's copy of the policy is out of date.
        if file_differs and not module.check_mode:
            os.rename(pending, dest)
            result.update(changed=True, msg="the live table matched; %s updated" % dest)
        else:
            os.unlink(pending)
            result["msg"] = "the live table already matches the policy"
        module.exit_json(**result)
    if module.check_mode:
        os.unlink(pending)
        result.update(changed=True, outcome="would-change", msg="the live table differs")
        module.exit_json(**result)
    args = ["--policy", pending, "apply", "--no-wait", "--require-new-session"]
    timeout = str(module.params["confirm_timeout"])
    args += ["--confirm-timeout", timeout + "s" if timeout.isdigit() else timeout]
    if module.params["allow_lockout"]:
        args.append("--allow-lockout")
    rc, out, err = run(module, args)
    if rc != 0:
        os.unlink(pending)
        module.fail_json(
            msg="portcullis apply refused (exit %d), nothing changed: %s" % (rc, err.strip()),
            rc=rc,
            stdout=out,
            stderr=err,
        )
    doc = status(module) or {}
    p = doc.get("pending") or {}
    result.update(
        changed=True,
        outcome="pending",
        commit=p.get("id"),
        deadline=p.get("deadline"),
        seconds_left=p.get("seconds_left"),
        msg="applied; pending until confirmed over a new connection",
        stderr=err,
    )
    module.exit_json(**result)


def phase_confirm(module):
    commit = module.params["_commit"]
    rc, out, err = run(module, ["confirm"])
    message = (err or out).strip()
    if rc == 0:
        pending = pending_path(module)
        if os.path.exists(pending):
            try:
                os.rename(pending, module.params["dest"])
            except (IOError, OSError) as e:
                # The change is kept (confirmed); only the host's copy of the policy is old.
                message += "; but %s could not be replaced: %s" % (module.params["dest"], e)
        module.exit_json(changed=True, outcome="confirmed", commit=commit, msg=message)
    # 1: too late (rolled back); 2: refused (e.g. not a new session): the caller decides.
    module.exit_json(changed=False, outcome="not-confirmed", rc=rc, commit=commit, msg=message)


def phase_status(module):
    """After a failed confirm: what became of the commit (the guard rolls back at the
    deadline), and the pending policy file left behind is removed."""
    commit = module.params["_commit"]
    doc = status(module) or {}
    p = doc.get("pending")
    if p and p.get("id") == commit:
        module.exit_json(changed=False, outcome="pending", seconds_left=p.get("seconds_left"))
    for c in doc.get("last_commits") or []:
        if c.get("id") == commit:
            if c.get("outcome") != "confirmed":
                pending = pending_path(module)
                if os.path.exists(pending):
                    os.unlink(pending)
            module.exit_json(
                changed=False, outcome=c.get("outcome"), reason=c.get("reason"), commit=commit
            )
    module.exit_json(changed=False, outcome="unknown", commit=commit)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="applied", choices=["applied"]),
            policy=dict(type="str"),
            src=dict(type="path"),
            dest=dict(type="path", default="/etc/portcullis/policy.toml"),
            confirm_timeout=dict(type="str", default="30s"),
            table=dict(type="str"),
            allow_lockout=dict(type="bool", default=False),
            executable=dict(type="path", default="portcullis"),
            state_dir=dict(type="path"),
            # Set by the action plugin, never by a task.
            _phase=dict(type="str", default="apply", choices=["apply", "confirm", "status"]),
            _commit=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    phase = module.params["_phase"]
    if phase == "confirm":
        phase_confirm(module)
    elif phase == "status":
        phase_status(module)
    if module.params.get("policy") is None:
        module.fail_json(msg="one of policy or src is required")
    phase_apply(module)


if __name__ == "__main__":
    main()

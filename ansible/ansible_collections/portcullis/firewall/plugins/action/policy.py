# -*- coding: utf-8 -*-
# Copyright (c) 2026 The portcullis developers
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The controller side of portcullis.firewall.policy.

1. Runs the module on the host: check, diff, and `portcullis apply --no-wait`, which
   leaves the change pending with a guard on the host armed to roll it back at the
   deadline.
2. Drops the connection (a persistent ControlMaster one too) and confirms over a new one,
   retrying until the deadline. The host takes the confirm only from a login that started
   after the apply (`--require-new-session`), so a reused connection cannot confirm.
3. If no new connection could be made, the task fails saying so; after the deadline it
   reconnects to report that the host rolled back by itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()

MODULE = "portcullis.firewall.policy"
# Options the host side needs on every call.
CARRIED = ("dest", "executable", "state_dir")


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(
        (
            "state",
            "policy",
            "src",
            "dest",
            "confirm_timeout",
            "table",
            "allow_lockout",
            "executable",
            "state_dir",
        )
    )

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if (args.get("policy") is None) == (args.get("src") is None):
            raise AnsibleActionFail("give exactly one of policy (the TOML text) and src (a file)")
        if args.get("src") is not None:
            try:
                path = self._find_needle("files", args.pop("src"))
                with open(path, "rb") as f:
                    args["policy"] = to_text(f.read())
            except (AnsibleError, IOError, OSError) as e:
                raise AnsibleActionFail("cannot read the policy file: %s" % to_text(e))
        host = task_vars.get("inventory_hostname", "the host")
        carried = dict((k, args[k]) for k in CARRIED if args.get(k) is not None)

        applied = self._execute_module(
            module_name=MODULE, module_args=dict(args, _phase="apply"), task_vars=task_vars
        )
        if applied.get("failed") or applied.get("outcome") != "pending":
            result.update(applied)
            return self._done(result)
        commit = applied.get("commit")
        seconds_left = applied.get("seconds_left") or 0
        deadline = time.monotonic() + seconds_left
        display.v("%s: commit %s pending, %ss to confirm" % (host, commit, seconds_left))

        confirmed, last_error, tries = None, None, 0
        # Leave a second before the deadline: a confirm that races the guard loses anyway.
        while time.monotonic() < deadline - 1:
            tries += 1
            reply, error = self._over_new_connection(
                dict(carried, _phase="confirm", _commit=commit), task_vars
            )
            if error:
                last_error = error
                display.v("%s: no new connection yet: %s" % (host, error))
                time.sleep(1)
                continue
            if reply.get("outcome") == "confirmed":
                confirmed = reply
                break
            if reply.get("rc") == 1:
                # Too late, or nothing pending: it has been rolled back already.
                last_error = reply.get("msg")
                break
            # Refused (the login was not new): drop the connection and try again.
            last_error = reply.get("msg")
            time.sleep(1)

        result.update(
            diff_text=applied.get("diff_text"),
            commit=commit,
            tries=tries,
        )
        if "diff" in applied:
            result["diff"] = applied["diff"]
        if confirmed:
            result.update(
                changed=True,
                outcome="confirmed",
                msg="applied and confirmed over a new connection (commit %s)" % commit,
            )
            return self._done(result)

        msg = (
            "no new connection to %s could be made within the confirm window after the "
            "apply (last error: %s); the host rolls back to the previous ruleset by itself "
            "at the deadline (commit %s)" % (host, last_error, commit)
        )
        result.update(failed=True, changed=True, outcome="rolled-back", msg=msg)
        result["rollback"] = self._rollback_seen(commit, deadline, carried, task_vars)
        result["msg"] = "%s. %s" % (msg, result["rollback"])
        return self._done(result)

    def _over_new_connection(self, module_args, task_vars):
        """Drops the connection and runs the module over a new one: (reply, None), or
        (None, why not) when no connection could be made."""
        self._reset_connection()
        try:
            reply = self._execute_module(
                module_name=MODULE, module_args=module_args, task_vars=task_vars
            )
        except (AnsibleConnectionFailure, AnsibleError) as e:
            lines = to_text(e).strip().splitlines()
            return None, lines[-1] if lines else "connection failed"
        if reply.get("unreachable"):
            return None, reply.get("msg", "unreachable")
        return reply, None

    def _reset_connection(self):
        try:
            self._connection.reset()
        except AttributeError:
            display.warning("this connection plugin cannot reset its connection")
        except AnsibleError as e:
            display.v("reset: %s" % to_text(e))

    def _rollback_seen(self, commit, deadline, carried, task_vars):
        """After the deadline, reconnects to say whether the host rolled back."""
        time.sleep(max(0, deadline - time.monotonic()) + 2)
        until = time.monotonic() + 30
        last = None
        while time.monotonic() < until:
            reply, last = self._over_new_connection(
                dict(carried, _phase="status", _commit=commit), task_vars
            )
            if last:
                time.sleep(1)
                continue
            outcome = reply.get("outcome")
            if outcome == "pending":
                time.sleep(1)
                continue
            if outcome == "rolled_back":
                return (
                    "Seen over a new connection after the deadline: the host rolled back "
                    "(%s); the previous ruleset is live" % (reply.get("reason") or "deadline")
                )
            return "After the deadline the host says the commit is %s" % outcome
        return "The host could not be reached after the deadline to check (%s)" % last

    def _done(self, result):
        try:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        except Exception:
            pass
        return result

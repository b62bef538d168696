"""jupyter_kernel_test's conformance suite against the installed kernel,
with every sample attribute filled."""

from __future__ import annotations

import jupyter_kernel_test
import pytest


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("kernel_name")
class WendelinKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "wendelin"
    language_name = "rhai"
    file_extension = ".rhai"

    code_hello_world = 'print("hello, world")'
    code_stderr = 'eprint("something went wrong")'

    completion_samples = [
        {"text": "sleep_m", "matches": {"sleep_ms"}},
        {"text": "noise_im", "matches": {"noise_image"}},
        {"text": "update_disp", "matches": {"update_display"}},
    ]

    complete_code_samples = ["1", 'print("hello, world")', "let x = 1;", "fn f(a) { a + 1 }"]
    incomplete_code_samples = ["fn f(a) {", "let xs = [1, 2,", "if true {\n  print(1);", "let s = `open"]
    invalid_code_samples = ["let x = 1; }", "let 5 = 3;", "(1 + 2]"]

    code_generate_error = 'throw "an error on purpose"'

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"wendel" + "in"', "result": '"wendelin"'},
        {"code": "[1, 2, 3].len()", "result": "3"},
    ]

    code_display_data = [
        {"code": "display(#{a: 1})", "mime": "text/html"},
        {"code": "display([1, 2])", "mime": "application/json"},
        {"code": "display(noise_image(4, 4, 1))", "mime": "image/png"},
    ]

    code_history_pattern = "6 ?*"
    supported_history_operations = ("tail", "range", "search")

    code_page_something = "sleep_ms?"
    code_inspect_sample = "sleep_ms"
    code_clear_output = "clear_output()"


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("kernel_name")
class WendelinIopubWelcomeTests(jupyter_kernel_test.IopubWelcomeTests):
    kernel_name = "wendelin"
    support_iopub_welcome = True

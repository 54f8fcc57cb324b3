"""Settings: the seed's variables, the new ones, and one readable line for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, Settings, load_settings
from gateway.cli import main as cli_main
from tests.support.app import make_settings, vendor_env


def test_no_vendor_configured_serves_the_demo_model() -> None:
    settings = make_settings()
    assert [g.type for g in settings.vendor_groups] == ["demo"]
    assert [m.public for m in settings.vendor_groups[0].models] == ["demo"]


def test_groups_with_gaps_are_read_in_group_order() -> None:
    env = vendor_env(7, "openai", "https://b.example/v1", "m") | vendor_env(2, "siliconflow", "https://a.example", "m")
    settings = make_settings(env)
    assert [(g.name, g.type) for g in settings.vendor_groups] == [("group2", "siliconflow"), ("group7", "openai")]


def test_keys_are_a_comma_list_with_blanks_dropped() -> None:
    settings = make_settings(vendor_env(1, "openai", "https://a.example/v1/", "m", keys=" k1, ,k2 ,"))
    group = settings.vendor_groups[0]
    assert [k.get_secret_value() for k in group.keys] == ["k1", "k2"]
    assert group.api_base == "https://a.example/v1"


def test_type_defaults_to_the_seeds_chat_type() -> None:
    env = vendor_env(1, "chat", "https://a.example/v1/chat/completions", "m")
    del env["IMAGE_GEN_TYPE_1"]
    assert make_settings(env).vendor_groups[0].type == "chat"


def test_model_aliases_map_public_names_to_vendor_ids() -> None:
    env = vendor_env(1, "cloudflare", "https://cf.example/ai/run", "flux=@cf/black-forest-labs/flux-1-schnell, sdxl")
    models = make_settings(env).vendor_groups[0].models
    assert [(m.public, m.vendor) for m in models] == [
        ("flux", "@cf/black-forest-labs/flux-1-schnell"),
        ("sdxl", "sdxl"),
    ]


def test_flux_gen_variables_make_a_siliconflow_group_ahead_of_numbered_groups() -> None:
    env = {
        "FLUX_GEN_MODEL": "flux",
        "FLUX_GEN_API_BASE": "https://sf.example/v1/images/generations",
        "FLUX_GEN_API_KEY": "a,b",
    } | vendor_env(1, "openai", "https://o.example/v1", "flux")
    groups = make_settings(env).vendor_groups
    assert [(g.name, g.type) for g in groups] == [("flux", "siliconflow"), ("group1", "openai")]


def test_client_keys_and_ratio_table_are_parsed() -> None:
    settings = make_settings({"AUTHORIZED_API_KEY": "a, b", "ASPECT_RATIOS": "1:1=512x512,16:9=1344x768"})
    assert [k.get_secret_value() for k in settings.authorized_api_key] == ["a", "b"]
    assert settings.aspect_ratios == {"1:1": (512, 512), "16:9": (1344, 768)}


@pytest.mark.parametrize(
    ("env", "names"),
    [
        pytest.param(
            {"IMAGE_GEN_API_BASE_3": "https://a.example", "IMAGE_GEN_MODEL_3": "m"},
            "IMAGE_GEN_API_KEY_3",
            id="group-without-key",
        ),
        pytest.param(
            {"IMAGE_GEN_API_BASE_2": "https://a.example", "IMAGE_GEN_API_KEY_2": "k"},
            "IMAGE_GEN_MODEL_2",
            id="group-without-model",
        ),
        pytest.param(vendor_env(1, "dalle9", "https://a.example", "m"), "IMAGE_GEN_TYPE_1", id="unknown-type"),
        pytest.param(
            vendor_env(1, "openai", "https://a.example", "m", keys=" , ,"), "IMAGE_GEN_API_KEY_1", id="empty-key-list"
        ),
        pytest.param(vendor_env(1, "openai", "ftp://a.example", "m"), "IMAGE_GEN_API_BASE_1", id="bad-base-url"),
        pytest.param(vendor_env(1, "openai", "https://a.example", "a,a"), "IMAGE_GEN_MODEL_1", id="model-twice"),
        pytest.param(vendor_env(1, "openai", "https://a.example", "a="), "IMAGE_GEN_MODEL_1", id="half-alias"),
        pytest.param(
            {
                "OPENAI_API_BASE": "https://llm.example",
                "OPENAI_API_KEY": "k",
                "OPENAI_MODEL": "a",
                "OPENAI_MODEL_REASONING": "b",
            },
            "OPENAI_MODEL_REASONING",
            id="both-rewrite-models",
        ),
        pytest.param({"OPENAI_MODEL": "a", "OPENAI_API_KEY": "k"}, "OPENAI_API_BASE", id="rewrite-without-base"),
        pytest.param({"FLUX_GEN_MODEL": "flux", "FLUX_GEN_API_KEY": "k"}, "FLUX_GEN_API_BASE", id="partial-flux"),
        pytest.param({"PORT": "eighty"}, "PORT", id="port-not-a-number"),
        pytest.param({"ASPECT_RATIOS": "16:9=wide"}, "ASPECT_RATIOS", id="bad-ratio-table"),
        pytest.param({"MEDIA_STORE": "ftp://somewhere"}, "MEDIA_STORE", id="unknown-media-store"),
        pytest.param({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, "TRUSTED_PROXIES", id="bad-trusted-proxy"),
        pytest.param({"MEDIA_MODE": "mirror"}, "MEDIA_MODE", id="unknown-media-mode"),
        pytest.param({"SIDE_REQUEST_PATTERNS": '["(unclosed"]'}, "SIDE_REQUEST_PATTERNS", id="bad-pattern"),
        pytest.param({"REWRITE_TIMEOUT": "0"}, "REWRITE_TIMEOUT", id="zero-rewrite-timeout"),
        pytest.param({"DEFAULT_IMAGE_MODEL": "nope"}, "DEFAULT_IMAGE_MODEL", id="default-model-not-served"),
        pytest.param(
            vendor_env(1, "openai", "https://a.example", "flux") | {"IMAGE_GEN_COST_1": "sdxl=0.1"},
            "IMAGE_GEN_COST_1",
            id="cost-for-a-model-the-group-lacks",
        ),
        pytest.param(
            vendor_env(1, "openai", "https://a.example", "flux") | {"IMAGE_GEN_COST_1": "-0.5"},
            "IMAGE_GEN_COST_1",
            id="negative-cost",
        ),
        pytest.param(
            vendor_env(1, "openai", "https://a.example", "flux") | {"IMAGE_GEN_COST_1": "flux=cheap"},
            "IMAGE_GEN_COST_1",
            id="cost-not-a-number",
        ),
    ],
)
def test_bad_configuration_is_one_line_naming_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as raised:
        make_settings(env)
    message = str(raised.value)
    assert names in message
    assert "\n" not in message


def test_secrets_do_not_show_in_settings_repr() -> None:
    settings = make_settings(vendor_env(1, "openai", "https://a.example", "m", keys="sk-very-secret-key-1234"))
    assert "sk-very-secret-key-1234" not in repr(settings)


def test_process_environment_and_dotenv_are_both_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "IMAGE_GEN_API_BASE_1=https://from-dotenv.example/v1\nIMAGE_GEN_MODEL_1=m\n"
        "IMAGE_GEN_API_KEY_1=dotenv-key\nIMAGE_GEN_TYPE_1=openai\nPORT=9001\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMAGE_GEN_API_KEY_1", "env-key")
    monkeypatch.setenv("AUTHORIZED_API_KEY", "client")
    settings = load_settings()
    group = settings.vendor_groups[0]
    assert group.api_base == "https://from-dotenv.example/v1"
    assert [k.get_secret_value() for k in group.keys] == ["env-key"]
    assert settings.port == 9001
    assert isinstance(settings, Settings)


def test_cli_refuses_to_start_with_one_line_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMAGE_GEN_API_BASE_4", "https://a.example")
    monkeypatch.setenv("IMAGE_GEN_MODEL_4", "m")
    assert cli_main(["serve"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "IMAGE_GEN_API_KEY_4" in err


def test_cli_refuses_a_public_bind_without_client_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli_main(["serve", "--host", "0.0.0.0"]) == 2
    assert "ALLOW_ANONYMOUS" in capsys.readouterr().err


def test_image_costs_are_one_price_or_model_price_pairs() -> None:
    group = vendor_env(1, "openai", "https://a.example", "flux=bfl/flux-pro, sdxl")
    flat = make_settings(group | {"IMAGE_GEN_COST_1": "0.02"}).vendor_groups[0]
    pairs = make_settings(group | {"IMAGE_GEN_COST_1": "bfl/flux-pro=0.04, sdxl = 0.01"}).vendor_groups[0]
    assert flat.costs == {"flux": 0.02, "sdxl": 0.02}
    assert pairs.costs == {"flux": 0.04, "sdxl": 0.01}  # vendor ids name the public model too
    assert make_settings(group).vendor_groups[0].costs == {}


def test_trusted_proxies_accept_addresses_networks_and_any() -> None:
    settings = make_settings({"TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8, ::1"})
    assert [str(net) for net in settings.trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    assert [str(net) for net in make_settings({"TRUSTED_PROXIES": "*"}).trusted_proxies] == ["0.0.0.0/0", "::/0"]

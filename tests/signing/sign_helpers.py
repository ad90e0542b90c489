"""Shared by the signing tests and bench/bench_sign.py: the fixed `now` and the declaration to sign."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone.utc)
PRC_SAMPLE = ROOT / "samples" / "prc" / "export_20_lines.xml"


def declaration_bytes(lines: int = 20) -> bytes:
    """samples/prc/export_20_lines.xml when it exists, else a comparable DecMessage (same groups, 20 lines)."""
    if lines == 20 and PRC_SAMPLE.exists():
        return PRC_SAMPLE.read_bytes()
    items = "".join(
        f"""
    <DecList>
      <GNo>{i}</GNo><CodeTS>8471300000</CodeTS><GName>便携式电脑 portable computer {i}</GName>
      <GModel>型号 X{i}|品牌 Acme</GModel><GQty>{i * 3}</GQty><GUnit>001</GUnit><DeclPrice>{100 + i}.50</DeclPrice>
      <DeclTotal>{(100 + i) * i * 3}.00</DeclTotal><TradeCurr>USD</TradeCurr><OriginCountry>CHN</OriginCountry>
      <DestinationCountry>VNM</DestinationCountry><DutyMode>1</DutyMode>
    </DecList>""" for i in range(1, lines + 1))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<DecMessage xmlns="http://www.chinaport.gov.cn/dec" Version="3.1">
  <DecHead>
    <SeqNo>000000000000000001</SeqNo><IEFlag>E</IEFlag><CustomMaster>5300</CustomMaster>
    <TradeCode>4403160001</TradeCode><TradeName>深圳某某电子有限公司</TradeName><TrafMode>2</TrafMode>
    <TradeCountry>VNM</TradeCountry><DistinatePort>VNM001</DistinatePort><GrossWet>1200.5</GrossWet><NetWt>1100</NetWt>
  </DecHead>
  <DecLists>{items}
  </DecLists>
  <DecSign><OperType>C</OperType><ICCode>1234567890</ICCode><CopCode>4403160001</CopCode><OperName>张三</OperName>
    <ClientSeqNo>EDIHUB0000000001</ClientSeqNo><Sign/><SignDate>2026112312000000</SignDate></DecSign>
</DecMessage>
""".encode()

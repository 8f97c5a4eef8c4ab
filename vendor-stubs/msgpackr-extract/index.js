throw new Error('msgpackr-extract is stubbed out in ringkv: msgpackr falls back to its JavaScript decoder');

# language: pt
Funcionalidade: A recepcionista virtual atende as pacientes pelo WhatsApp
  A clínica pode ter uma recepcionista virtual, a Sofia, que responde as pacientes no WhatsApp
  a qualquer hora: marca consultas na agenda de verdade, informa os preços que a própria
  clínica escreveu na base de conhecimento e passa a conversa para a equipe sempre que uma
  pessoa é necessária. Ela nunca dá orientação clínica e nunca inventa um valor.

  A Sofia espera alguns segundos a paciente terminar de escrever e responde uma vez só a uma
  sequência de mensagens. Um sinal de alerta (rosto inchado, febre, sangramento que não
  para...) passa a conversa para a equipe como urgente, com o telefone do SAMU, sem que a
  Sofia tente responder sozinha. Quando a conversa está com a equipe, a Sofia fica em
  silêncio até a secretária devolver a conversa para ela.

  Contexto:
    Dado que a clínica tem o canal simulador
    E que a secretária Ana trabalha na clínica
    E que são 10:00 de quarta-feira, 25/11/2026, em São Paulo
    E que a Dra. Beatriz atende de segunda a sexta das 08:00 às 18:00, com almoço das 12:00 às 13:00
    E que a clínica oferece "Limpeza" de 30 minutos e "Avaliação" de 40 minutos
    E que a tabela de preços da clínica está na base de conhecimento:
      """
      Procedimento;Valor
      Avaliação (primeira consulta com o dentista);R$ 0,00 (gratuita)
      Limpeza (profilaxia) com polimento;R$ 180,00
      Restauração em resina (uma face);R$ 220,00
      Clareamento a laser (no consultório, 2 sessões);R$ 1.200,00
      """
    E que a clínica tem a recepcionista virtual Sofia, que espera 8 segundos a paciente terminar de escrever

  Cenário: Maria marca uma limpeza com a Sofia
    Quando a paciente Maria (+55 11 98765-4321) escreve "quero marcar uma limpeza amanhã à tarde"
    E passam 8 segundos
    Então Maria recebe da Sofia horários numerados de quinta-feira, 26/11, à tarde, com a Dra. Beatriz
    Quando Maria responde "2"
    E passam 8 segundos
    Então Maria tem "Limpeza" na agenda no horário da opção 2, com a Dra. Beatriz, marcada pela Sofia
    E Maria recebe da Sofia a confirmação com o dia e a hora da opção 2
    E a conversa de Maria é atendida pela IA

  Cenário: Três mensagens seguidas recebem uma resposta só
    Quando a paciente Maria (+55 11 98765-4321) escreve "oi"
    E passam 3 segundos
    E Maria escreve "queria marcar uma limpeza"
    E passam 3 segundos
    E Maria escreve "amanhã à tarde"
    E passam 7 segundos
    Então a Sofia ainda não respondeu a Maria
    Quando passa 1 segundo
    Então Maria recebe da Sofia uma resposta só, para as 3 mensagens
    E a resposta traz horários numerados com a Dra. Beatriz

  Cenário: Um sinal de alerta passa a conversa para a equipe na hora
    Quando a paciente Maria (+55 11 98765-4321) escreve "meu rosto está inchado até o olho e estou com febre"
    E passam 8 segundos
    Então a conversa de Maria é atendida por uma pessoa
    E a conversa de Maria passou para a equipe por um sinal de alerta
    E a conversa de Maria está marcada como urgente, na fila, sem ninguém responsável
    E Maria recebe da Sofia uma mensagem com "192"
    E a Sofia passou a conversa sem consultar o modelo de IA

  Cenário: A Sofia informa o preço que está na base de conhecimento
    Quando a paciente Maria (+55 11 98765-4321) escreve "quanto custa a limpeza?"
    E passam 8 segundos
    Então Maria recebe da Sofia uma mensagem com "R$ 180,00"
    E a conversa de Maria é atendida pela IA

  Cenário: Um preço que não está na base vai para a equipe
    Quando a paciente Maria (+55 11 98765-4321) escreve "quanto custa um implante?"
    E passam 8 segundos
    Então a conversa de Maria é atendida por uma pessoa
    E a conversa de Maria passou para a equipe porque o preço não está na base
    E Maria recebe da Sofia um aviso de que a equipe vai responder, sem nenhum valor

  Cenário: A paciente pede para falar com uma pessoa
    Quando a paciente Maria (+55 11 98765-4321) escreve "posso falar com uma pessoa, por favor?"
    E passam 8 segundos
    Então a conversa de Maria é atendida por uma pessoa
    E a conversa de Maria passou para a equipe porque a paciente pediu uma pessoa
    E Maria recebe da Sofia um aviso de que a equipe vai responder, sem nenhum valor
    Quando Maria escreve "quanto custa a limpeza?"
    E passam 8 segundos
    Então a Sofia não respondeu mais nada a Maria

  Cenário: A secretária devolve a conversa para a Sofia
    Dado que a paciente Maria (+55 11 98765-4321) pediu à Sofia para falar com uma pessoa
    E que a secretária Ana respondeu a Maria "Oi, Maria! Aqui é a Ana. Já te ajudo."
    Quando a secretária Ana devolve a conversa de Maria para a Sofia
    E Maria escreve "quanto custa a limpeza?"
    E passam 8 segundos
    Então a conversa de Maria é atendida pela IA
    E Maria recebe da Sofia uma mensagem com "R$ 180,00"
